// --help: the manual in short.

let helpText = """
    NAME
        bustd-notify - desktop notifications for bustd's kills

    SYNOPSIS
        bustd-notify [OPTIONS]

    DESCRIPTION
        Runs in your desktop session, connects to the bustd daemon's event
        socket and shows a desktop notification when bustd kills one of your
        processes, why it did (available memory, memory pressure) and how much
        memory came back. Kills within the burst window share one notification.
        It also tells you when memory is getting low, when a kill failed, and
        when the kernel's own OOM killer acted.

        The socket must belong to root (checked with SO_PEERCRED): a socket run
        by anyone else is refused, so no other user can fake a notification.
        When bustd is not running, or restarts, bustd-notify reconnects
        (0.5 s, doubling to 30 s). When the session bus or the notification
        server is missing it says so, keeps up to 32 notifications and shows
        them once the server is back.

        The last event seen is kept in $XDG_RUNTIME_DIR/bustd-notify.state. A
        notifier restarted after a kill still shows it; on a first start, or
        after bustd restarted, only events younger than replay-max-age are shown.

    OPTIONS
        --socket PATH          bustd's event socket (default /run/bustd/bustd.sock)
        --no-warnings          no notifications for low-memory warnings
        --events LIST          which notify, comma separated: kill, kill-failed,
                               warning, kernel-oom; all; none (default all)
        --urgency-kill LEVEL   low, normal or critical (default critical);
        --urgency-kill-failed LEVEL         likewise (default critical)
        --urgency-warning LEVEL             likewise (default normal)
        --urgency-kernel-oom LEVEL          likewise (default critical)
        --timeout SECONDS      how long a notification stays; or default (the
                               server's choice) or never (default 15)
        --icon NAME            icon name or absolute path; empty for none
                               (default dialog-warning)
        --burst-window SECONDS kills this close together make one notification
                               (default 1)
        --replay-max-age SECONDS
                               on a first start or a new bustd instance, older
                               events are not shown (default 600)
        --since SEQ            show the retained events of the running bustd from
                               sequence number SEQ on, whatever their age
        --config FILE          read FILE instead of the default config file;
                               none for no file
        --test                 show one sample notification and exit: checks that
                               notifications reach this desktop
        -v, --verbose          log every event received to standard error
        --version              print the version and exit
        -h, --help             print this help and exit

    CONFIG FILE
        $XDG_CONFIG_HOME/bustd/notify.conf (else ~/.config/bustd/notify.conf),
        optional. One "key = value" per line, "#" starts a comment. The keys are
        the long options above without "--": socket, events, warnings (yes|no),
        urgency-kill, urgency-kill-failed, urgency-warning, urgency-kernel-oom,
        timeout, icon, burst-window, replay-max-age. Options on the command line
        win over the file. A bad line is reported with its line number and
        ignored; the default applies.

            # ~/.config/bustd/notify.conf
            events = kill, kill-failed, kernel-oom
            timeout = never

    AUTOSTART
        Installed from the package, it starts with every graphical session:
        through its user unit (bustd-notify.service, enabled for every user and
        bound to graphical-session.target) where systemd runs the session, and
        through /etc/xdg/autostart/bustd-notify.desktop where the session
        manager runs autostart itself. One copy runs per user: a second one
        finds $XDG_RUNTIME_DIR/bustd-notify.lock held and exits quietly.

    EXIT STATUS
        0 after --test, --help or --version, or when another copy already runs
        for the user; 1 when --test could not show its notification; 2 for a
        bad command line. Otherwise it runs until stopped.

    """
