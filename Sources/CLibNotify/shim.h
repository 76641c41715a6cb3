// libnotify (and through it GLib/GIO) for bustd-notify. pkg-config's
// "libnotify" supplies the include paths and libraries.
#include <libnotify/notify.h>
#include <gio/gio.h>
