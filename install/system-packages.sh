# Sourced by install/test.sh: the system tools the tests use as real readers of what photosift
# writes (exiftool reads XMP sidecars, getfattr reads extended attributes, curl calls the API)
# Xvfb, the X display the GUI tests open real windows on, trayer, a real system tray on it, and
# what the tray's menu needs (PyGObject is built against gobject-introspection and cairo; GTK's
# typelib; dbus-run-session gives the GTK tray test a session bus), and the validators of the
# file-manager actions photosift generates (desktop-file-validate, xmllint); tmux, a real terminal
# for the completion script and `status --watch`, man, the reader of the generated man page, and xclip,
# a real X clipboard owner for the window's paste (Pillow reads the clipboard's images through it).
ensure_system_packages() {
    local missing=()
    command -v exiftool >/dev/null || missing+=(libimage-exiftool-perl)
    command -v getfattr >/dev/null || missing+=(attr)
    command -v curl >/dev/null || missing+=(curl)
    command -v Xvfb >/dev/null || missing+=(xvfb)
    command -v trayer >/dev/null || missing+=(trayer)
    command -v dbus-run-session >/dev/null || missing+=(dbus)
    command -v desktop-file-validate >/dev/null || missing+=(desktop-file-utils)
    command -v xmllint >/dev/null || missing+=(libxml2-utils)
    command -v tmux >/dev/null || missing+=(tmux)
    command -v man >/dev/null || missing+=(man-db)
    command -v xclip >/dev/null || missing+=(xclip)
    pkg-config --exists gobject-introspection-1.0 cairo 2>/dev/null \
        || missing+=(pkg-config libgirepository1.0-dev libcairo2-dev)
    ls /usr/lib/*/girepository-1.0/Gtk-3.0.typelib >/dev/null 2>&1 || missing+=(gir1.2-gtk-3.0)
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "note: cannot install ${missing[*]} (not root); the tests that need them will skip" >&2
            return 0
        fi
    fi
    if command -v apt-get >/dev/null; then
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "note: no apt-get here; install ${missing[*]} by hand for the tests that need them" >&2
    fi
}
