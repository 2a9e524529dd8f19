//! Dovecot Maildir and mbox: readers, the import driver and the exporters.
