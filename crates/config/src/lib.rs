//! Protocol layer: the `imapd.conf` reader and the typed table of options.
