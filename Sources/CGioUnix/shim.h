// GIO's desktop entries (GDesktopAppInfo) for bustd-notify: which app a
// killed process belonged to. pkg-config's "gio-unix-2.0" (from GLib,
// which libnotify depends on) supplies the include path.
#include <gio/gio.h>
#include <gio/gdesktopappinfo.h>
