#!/usr/bin/python3
"""A stand-in for a desktop's notification server (org.freedesktop.Notifications)
on the session bus. Records every Notify call as one JSON line in the file
named by argv[1] (app_name, replaces_id, id, summary, body, urgency, timeout,
icon, and the wall-clock time of the call), each GetCapabilities call as
{"call": "GetCapabilities", "time": ...}, and writes {"ready": true} once it
owns the name. For bustd-notify's end-to-end tests and the e2e guest.
"""
import json
import sys
import time

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class Server(dbus.service.Object):
    def __init__(self, bus, record):
        super().__init__(bus, PATH)
        self.record = record
        self.next_id = 1

    def write(self, entry):
        self.record.write(json.dumps(entry) + "\n")
        self.record.flush()

    @dbus.service.method(NAME, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, icon, summary, body, actions, hints, timeout):
        now = time.time()
        notification_id = int(replaces_id) or self.next_id
        if not replaces_id:
            self.next_id += 1
        urgency = hints.get("urgency")
        self.write({
            "time": now,
            "app_name": str(app_name),
            "replaces_id": int(replaces_id),
            "id": notification_id,
            "icon": str(icon),
            "summary": str(summary),
            "body": str(body),
            "urgency": None if urgency is None else int(urgency),
            "timeout": int(timeout),
        })
        return dbus.UInt32(notification_id)

    @dbus.service.method(NAME, in_signature="", out_signature="as")
    def GetCapabilities(self):
        self.write({"call": "GetCapabilities", "time": time.time()})
        return ["body", "body-markup"]

    @dbus.service.method(NAME, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("fake-notification-server", "bustd", "1.0", "1.2")

    @dbus.service.method(NAME, in_signature="u", out_signature="")
    def CloseNotification(self, notification_id):
        self.NotificationClosed(notification_id, 3)

    @dbus.service.signal(NAME, signature="uu")
    def NotificationClosed(self, notification_id, reason):
        pass


def main():
    DBusGMainLoop(set_as_default=True)
    record = open(sys.argv[1], "a")
    bus = dbus.SessionBus()
    name = dbus.service.BusName(NAME, bus, do_not_queue=True)
    server = Server(bus, record)
    server.write({"ready": True})
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
