# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_darius_global_optspecs
    string join \n C/config= h/help V/version
end

function __fish_darius_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_darius_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_darius_using_subcommand
    set -l cmd (__fish_darius_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c darius -n "__fish_darius_needs_command" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_needs_command" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_needs_command" -s V -l version -d 'Print version'
complete -c darius -n "__fish_darius_needs_command" -f -a "serve" -d 'Run every configured service in this process until SIGTERM or SIGINT'
complete -c darius -n "__fish_darius_needs_command" -f -a "notifyd" -d 'Run the notification methods for servers that set `notifysocket` (Cyrus\'s notifyd), until killed'
complete -c darius -n "__fish_darius_needs_command" -f -a "user" -d 'Manage users in the password database (through the running server when there is one)'
complete -c darius -n "__fish_darius_needs_command" -f -a "mailbox" -d 'Create, delete, rename and list mailboxes by internal name, as the administrator (through the running server when there is one)'
complete -c darius -n "__fish_darius_needs_command" -f -a "acl" -d 'Get, set and delete a mailbox\'s ACL entries by internal name, as the administrator (through the running server when there is one)'
complete -c darius -n "__fish_darius_needs_command" -f -a "quota" -d 'List quota roots with usage and limits, repair usage (-f), set or remove roots, by internal name as the administrator (through the running server when there is one)'
complete -c darius -n "__fish_darius_needs_command" -f -a "unexpunge" -d 'List (-l) or restore the messages a delayed expunge kept in MAILBOX, by internal name (through the running server when there is one)'
complete -c darius -n "__fish_darius_needs_command" -f -a "expire" -d 'Purge what delayed expunge kept longer than `expunge_days`, the mailboxes delayed delete hid longer than `delete_days`, and expired duplicate-delivery records (through the running server when there is one)'
complete -c darius -n "__fish_darius_needs_command" -f -a "undelete" -d 'List (-l) or bring back mailboxes a delayed delete hid, by internal name (through the running server when there is one)'
complete -c darius -n "__fish_darius_needs_command" -f -a "deliver" -d 'Deliver the message on standard input to USER… (Cyrus\'s `deliver`, for an MTA\'s mailbox_command): through the running server\'s lmtpsocket, or on the files when it is stopped. Exits with sysexits codes (75: try again later)'
complete -c darius -n "__fish_darius_needs_command" -f -a "reconstruct" -d 'Rebuild mailboxes\' indexes from their message files (-r below them, -f adopting unlisted files, -n as a dry run), or with -m the mailboxes database from the partitions (server stopped)'
complete -c darius -n "__fish_darius_needs_command" -f -a "check" -d 'Report, changing nothing, what disagrees between message files, indexes, the mailboxes database, partitions, quota usage and subscriptions; exit status 1 when anything does'
complete -c darius -n "__fish_darius_needs_command" -f -a "mboxlist" -d 'Dump the mailboxes database as text, one mailbox per line, or apply such a dump (Cyrus\'s `ctl_mboxlist -d` and `-u`)'
complete -c darius -n "__fish_darius_needs_command" -f -a "murder" -d 'The Murder\'s directory in etcd: list it (dump), or reconcile this backend\'s mailboxes with it (sync); push them to a Cyrus mupdate master (mupdate-sync)'
complete -c darius -n "__fish_darius_needs_command" -f -a "who" -d 'List the running server\'s sessions: session id, host, user, selected mailbox'
complete -c darius -n "__fish_darius_needs_command" -f -a "import" -d 'Import another server\'s mail, keeping UIDs, flags and dates (server stopped)'
complete -c darius -n "__fish_darius_needs_command" -f -a "export" -d 'Export mailboxes to Maildir or mbox, keeping UIDs, flags and dates (server stopped)'
complete -c darius -n "__fish_darius_needs_command" -f -a "backup" -d 'Make a consistent copy of the whole store into DEST while the server serves (through the running server when there is one): a data directory with its own imapd.conf'
complete -c darius -n "__fish_darius_needs_command" -f -a "restore" -d 'Put a backup back in place of the whole store (server stopped)'
complete -c darius -n "__fish_darius_needs_command" -f -a "collectnews" -d 'Index the netnews articles a feed names (INN\'s `Wn`/`WR` file feed, or spool paths), one per line from FILE or standard input, in their newsgroups\' mailboxes'
complete -c darius -n "__fish_darius_needs_command" -f -a "rmnews" -d 'Drop the articles `fastrm`\'s input names (spool paths or storage tokens) from the newsgroup mailboxes and unlink their files (INN\'s RMPROC)'
complete -c darius -n "__fish_darius_needs_command" -f -a "syncnews" -d 'Create and remove newsgroup mailboxes to match INN\'s active file (-n: dry run)'
complete -c darius -n "__fish_darius_needs_command" -f -a "completions" -d 'Print the completion script of SHELL (bash, zsh, fish, elvish, powershell) for darius'
complete -c darius -n "__fish_darius_needs_command" -f -a "manpages" -d 'Write the manual pages darius(8) and darius-COMMAND(8), in roff, into DIR (the package ships them)'
complete -c darius -n "__fish_darius_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand serve" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand serve" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand notifyd" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand notifyd" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -f -a "add" -d 'Add a user; the password is read from standard input (first line) or --password-file'
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -f -a "passwd" -d 'Change a user\'s password (read like `add`)'
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -f -a "del" -d 'Delete a user and all their mail (asks on a terminal; elsewhere needs --yes)'
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -f -a "list" -d 'List users, one per line'
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -f -a "show" -d 'Show which secret forms a user\'s password is stored in (`argon2id`, `scram-sha-1(N)`, `scram-sha-256(N)` with N iterations, `cram-md5`, `apop` for the copy `allowapop` keeps), never the secrets themselves'
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -f -a "check" -d 'Check a user\'s password (read like `add`); exits 0 when it is right, 1 when not'
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -f -a "import-sasldb" -d 'Add the users of a Cyrus SASL database (sasldb2) with their passwords'
complete -c darius -n "__fish_darius_using_subcommand user; and not __fish_seen_subcommand_from add passwd del list show check import-sasldb help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from add" -l password-file -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from add" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from passwd" -l password-file -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from passwd" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from passwd" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from del" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from del" -l yes -d 'Delete without asking'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from list" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from show" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from check" -l password-file -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from check" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from import-sasldb" -l realm -d 'The realm whose users become plain `user` ids (default: servername, else the host name)' -r
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from import-sasldb" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from import-sasldb" -l replace -d 'Set the password of users that exist already (otherwise they are kept as they are)'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from import-sasldb" -l dry-run -d 'Say what would be done, change nothing'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from import-sasldb" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a user; the password is read from standard input (first line) or --password-file'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "passwd" -d 'Change a user\'s password (read like `add`)'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "del" -d 'Delete a user and all their mail (asks on a terminal; elsewhere needs --yes)'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "list" -d 'List users, one per line'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show which secret forms a user\'s password is stored in (`argon2id`, `scram-sha-1(N)`, `scram-sha-256(N)` with N iterations, `cram-md5`, `apop` for the copy `allowapop` keeps), never the secrets themselves'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check a user\'s password (read like `add`); exits 0 when it is right, 1 when not'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "import-sasldb" -d 'Add the users of a Cyrus SASL database (sasldb2) with their passwords'
complete -c darius -n "__fish_darius_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and not __fish_seen_subcommand_from create delete rename list help" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand mailbox; and not __fish_seen_subcommand_from create delete rename list help" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and not __fish_seen_subcommand_from create delete rename list help" -f -a "create" -d 'Create a mailbox (`user.NAME` creates a user\'s INBOX), optionally on a partition'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and not __fish_seen_subcommand_from create delete rename list help" -f -a "delete" -d 'Delete a mailbox (`user.NAME` deletes the user\'s every mailbox and state)'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and not __fish_seen_subcommand_from create delete rename list help" -f -a "rename" -d 'Rename a mailbox, optionally moving it to a partition'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and not __fish_seen_subcommand_from create delete rename list help" -f -a "list" -d 'List mailboxes whose internal names match PATTERN (`*` and `%` as in IMAP LIST)'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and not __fish_seen_subcommand_from create delete rename list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from create" -l partition -r
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from create" -l context -d 'Names starting with `.` are relative to this one' -r
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from create" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from delete" -l context -r
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from delete" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from rename" -l partition -r
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from rename" -l context -r
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from rename" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from rename" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from list" -l context -r
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from list" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a mailbox (`user.NAME` creates a user\'s INBOX), optionally on a partition'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a mailbox (`user.NAME` deletes the user\'s every mailbox and state)'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from help" -f -a "rename" -d 'Rename a mailbox, optionally moving it to a partition'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from help" -f -a "list" -d 'List mailboxes whose internal names match PATTERN (`*` and `%` as in IMAP LIST)'
complete -c darius -n "__fish_darius_using_subcommand mailbox; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand acl; and not __fish_seen_subcommand_from get set delete help" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand acl; and not __fish_seen_subcommand_from get set delete help" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand acl; and not __fish_seen_subcommand_from get set delete help" -f -a "get" -d 'Print the mailbox\'s ACL, one `identifier rights` line per entry'
complete -c darius -n "__fish_darius_using_subcommand acl; and not __fish_seen_subcommand_from get set delete help" -f -a "set" -d 'Set an identifier\'s rights: `lrs` replaces them, `+p` adds, `-w` removes (as SETACL). A negative entry is `-identifier`'
complete -c darius -n "__fish_darius_using_subcommand acl; and not __fish_seen_subcommand_from get set delete help" -f -a "delete" -d 'Remove an identifier\'s entry (as DELETEACL)'
complete -c darius -n "__fish_darius_using_subcommand acl; and not __fish_seen_subcommand_from get set delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from get" -l context -d 'Names starting with `.` are relative to this one' -r
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from get" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from set" -l context -r
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from set" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from delete" -l context -r
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from delete" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from help" -f -a "get" -d 'Print the mailbox\'s ACL, one `identifier rights` line per entry'
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set an identifier\'s rights: `lrs` replaces them, `+p` adds, `-w` removes (as SETACL). A negative entry is `-identifier`'
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Remove an identifier\'s entry (as DELETEACL)'
complete -c darius -n "__fish_darius_using_subcommand acl; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand quota" -s d -l prefix -d 'Only roots at or below this internal name (Cyrus\'s `-d domain`; a prefix here until virtual domains exist)' -r
complete -c darius -n "__fish_darius_using_subcommand quota" -l remove -d 'Remove the quota root ROOT (its mailboxes then count for the enclosing root)' -r
complete -c darius -n "__fish_darius_using_subcommand quota" -l set -d 'Set the limits of ROOT (a mailbox, or a name with mailboxes below it); without --storage and --messages its limits are removed and the root kept' -r
complete -c darius -n "__fish_darius_using_subcommand quota" -l storage -d 'With --set: the STORAGE limit in KiB' -r
complete -c darius -n "__fish_darius_using_subcommand quota" -l messages -d 'With --set: the MESSAGE limit (number of messages)' -r
complete -c darius -n "__fish_darius_using_subcommand quota" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand quota" -s f -l fix -d 'Recompute the usage of every root (or of ROOT…) and print each correction'
complete -c darius -n "__fish_darius_using_subcommand quota" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand unexpunge" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand unexpunge" -s l -l list -d 'List the expunged messages kept in MAILBOX instead of restoring any'
complete -c darius -n "__fish_darius_using_subcommand unexpunge" -s a -l all -d 'Restore every kept message of MAILBOX'
complete -c darius -n "__fish_darius_using_subcommand unexpunge" -s d -l undelete -d 'Clear the `\\Deleted` flag of the restored messages'
complete -c darius -n "__fish_darius_using_subcommand unexpunge" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand expire" -s X -l expunge-days -d 'Purge messages expunged more than N days ago (default: `expunge_days`; 0: all)' -r
complete -c darius -n "__fish_darius_using_subcommand expire" -s D -l delete-days -d 'Remove mailboxes deleted more than N days ago (default: `delete_days`; 0: all)' -r
complete -c darius -n "__fish_darius_using_subcommand expire" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand expire" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand undelete" -l to -d 'Restore it (and those deleted with it) under this name instead' -r
complete -c darius -n "__fish_darius_using_subcommand undelete" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand undelete" -s l -l list -d 'List the deleted mailboxes kept instead of restoring one'
complete -c darius -n "__fish_darius_using_subcommand undelete" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand deliver" -s m -d 'Deliver to this mailbox: each USER\'s folder NAME (with the `p` right, else their INBOX), or, without USER, the shared mailbox NAME' -r
complete -c darius -n "__fish_darius_using_subcommand deliver" -s a -d 'Deliver as this user for the access checks (`p` on folders and shared mailboxes)' -r
complete -c darius -n "__fish_darius_using_subcommand deliver" -s f -d 'The envelope sender (return path); `<>` when not given' -r
complete -c darius -n "__fish_darius_using_subcommand deliver" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand deliver" -s q -d 'Deliver even when a recipient is over quota (administrators: whoever may use the LMTP socket or the store\'s files)'
complete -c darius -n "__fish_darius_using_subcommand deliver" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand reconstruct" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand reconstruct" -s r -l recursive -d 'Also every mailbox below each MAILBOX; with no MAILBOX, every mailbox'
complete -c darius -n "__fish_darius_using_subcommand reconstruct" -s f -l adopt-files -d 'Adopt message files the index does not list (without it they are only reported)'
complete -c darius -n "__fish_darius_using_subcommand reconstruct" -s n -l dry-run -d 'Dry run: print what would change and change nothing'
complete -c darius -n "__fish_darius_using_subcommand reconstruct" -l quota -d 'Repair quota usage afterwards (`darius quota -f`)'
complete -c darius -n "__fish_darius_using_subcommand reconstruct" -s m -l mailboxes-db -d 'Rebuild the mailboxes database from the partitions\' mailbox directories (the server must be stopped)'
complete -c darius -n "__fish_darius_using_subcommand reconstruct" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand check" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand check" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and not __fish_seen_subcommand_from dump undump help" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and not __fish_seen_subcommand_from dump undump help" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and not __fish_seen_subcommand_from dump undump help" -f -a "dump" -d 'Print the mailboxes database, one mailbox per line (name, partition, uniqueid, type, ACL, special-use), like Cyrus\'s `ctl_mboxlist -d`'
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and not __fish_seen_subcommand_from dump undump help" -f -a "undump" -d 'Give mailboxes the ACL and special-use of a dump, and enter again those missing from the database whose directory is still on their partition (the server must be stopped)'
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and not __fish_seen_subcommand_from dump undump help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and __fish_seen_subcommand_from dump" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and __fish_seen_subcommand_from dump" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and __fish_seen_subcommand_from undump" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and __fish_seen_subcommand_from undump" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and __fish_seen_subcommand_from help" -f -a "dump" -d 'Print the mailboxes database, one mailbox per line (name, partition, uniqueid, type, ACL, special-use), like Cyrus\'s `ctl_mboxlist -d`'
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and __fish_seen_subcommand_from help" -f -a "undump" -d 'Give mailboxes the ACL and special-use of a dump, and enter again those missing from the database whose directory is still on their partition (the server must be stopped)'
complete -c darius -n "__fish_darius_using_subcommand mboxlist; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand murder; and not __fish_seen_subcommand_from dump sync mupdate-sync help" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand murder; and not __fish_seen_subcommand_from dump sync mupdate-sync help" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand murder; and not __fish_seen_subcommand_from dump sync mupdate-sync help" -f -a "dump" -d 'List the directory in etcd: one mailbox per line, `name<TAB>server!partition<TAB>state` (with --acl, its ACL as a fourth field)'
complete -c darius -n "__fish_darius_using_subcommand murder; and not __fish_seen_subcommand_from dump sync mupdate-sync help" -f -a "sync" -d 'Make the directory say what this backend holds (Cyrus\'s `ctl_mboxlist -m`), through the running server: publish what is missing, correct what differs, settle reservations left by a crash, remove this server\'s entries whose mailbox is gone; names another server holds are reported. Exit status 1 when anything differed'
complete -c darius -n "__fish_darius_using_subcommand murder; and not __fish_seen_subcommand_from dump sync mupdate-sync help" -f -a "mupdate-sync" -d 'Push this server\'s mailboxes to the Cyrus mupdate master `mupdate_server` names (through the running server, else from the stopped store): activate every mailbox at servername!PARTITION with its ACL, delete this server\'s entries whose mailbox is gone; names another server holds are reported. Exit status 1 when anything differed'
complete -c darius -n "__fish_darius_using_subcommand murder; and not __fish_seen_subcommand_from dump sync mupdate-sync help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from dump" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from dump" -l acl -d 'Also print each mailbox\'s ACL'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from dump" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from sync" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from sync" -s n -l dry-run -d 'Only report the differences'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from sync" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from mupdate-sync" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from mupdate-sync" -s n -l dry-run -d 'Only report the differences'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from mupdate-sync" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from help" -f -a "dump" -d 'List the directory in etcd: one mailbox per line, `name<TAB>server!partition<TAB>state` (with --acl, its ACL as a fourth field)'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from help" -f -a "sync" -d 'Make the directory say what this backend holds (Cyrus\'s `ctl_mboxlist -m`), through the running server: publish what is missing, correct what differs, settle reservations left by a crash, remove this server\'s entries whose mailbox is gone; names another server holds are reported. Exit status 1 when anything differed'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from help" -f -a "mupdate-sync" -d 'Push this server\'s mailboxes to the Cyrus mupdate master `mupdate_server` names (through the running server, else from the stopped store): activate every mailbox at servername!PARTITION with its ACL, delete this server\'s entries whose mailbox is gone; names another server holds are reported. Exit status 1 when anything differed'
complete -c darius -n "__fish_darius_using_subcommand murder; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand who" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand who" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand import; and not __fish_seen_subcommand_from maildir mbox cyrus help" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand import; and not __fish_seen_subcommand_from maildir mbox cyrus help" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand import; and not __fish_seen_subcommand_from maildir mbox cyrus help" -f -a "maildir" -d 'A Dovecot Maildir++ tree (--user) or one Maildir folder (--mailbox), with dovecot-uidlist, dovecot-keywords and subscriptions'
complete -c darius -n "__fish_darius_using_subcommand import; and not __fish_seen_subcommand_from maildir mbox cyrus help" -f -a "mbox" -d 'A Dovecot/UW mbox directory (--user) or one mbox file (--mailbox)'
complete -c darius -n "__fish_darius_using_subcommand import; and not __fish_seen_subcommand_from maildir mbox cyrus help" -f -a "cyrus" -d 'A Cyrus 2.4/3.x store, found through its imapd.conf (--cyrus-config): mailboxes with their UIDs, UIDVALIDITY, flags, keywords, internal dates, ACLs and special-use, seen state, subscriptions, quota roots and Sieve scripts; files hard-linked where possible'
complete -c darius -n "__fish_darius_using_subcommand import; and not __fish_seen_subcommand_from maildir mbox cyrus help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from maildir" -l user -d 'Import the whole Maildir++ tree into this user\'s mailboxes (INBOX included)' -r
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from maildir" -l mailbox -d 'Import one Maildir folder into this new mailbox (internal name, `user.bovik.Sent`)' -r
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from maildir" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from maildir" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from mbox" -l user -d 'Import a Dovecot/UW mbox directory (`inbox` and the other files) into this user\'s mailboxes' -r
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from mbox" -l mailbox -d 'Import one mbox file into this new mailbox (internal name)' -r
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from mbox" -l quoting -d 'How `From ` lines in bodies were quoted: mboxrd (`>From `, `>>From `… lose one `>`), mboxo (only `>From `), or none (Dovecot\'s own mbox files)' -r -f -a "mboxrd\t''
mboxo\t''
none\t''"
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from mbox" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from mbox" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from cyrus" -l cyrus-config -d 'The Cyrus imapd.conf (configdirectory, partition-*, sievedir… are read from it)' -r -F
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from cyrus" -l mailboxes-db -d 'The mailboxes database to read instead of the one imapd.conf names (a copy, or a `ctl_mboxlist -d` dump: Cyrus 3.x\'s JSON or 2.4\'s lines)' -r -F
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from cyrus" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from cyrus" -s n -l dry-run -d 'Read and check everything, write nothing; report what would be imported'
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from cyrus" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "maildir" -d 'A Dovecot Maildir++ tree (--user) or one Maildir folder (--mailbox), with dovecot-uidlist, dovecot-keywords and subscriptions'
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "mbox" -d 'A Dovecot/UW mbox directory (--user) or one mbox file (--mailbox)'
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "cyrus" -d 'A Cyrus 2.4/3.x store, found through its imapd.conf (--cyrus-config): mailboxes with their UIDs, UIDVALIDITY, flags, keywords, internal dates, ACLs and special-use, seen state, subscriptions, quota roots and Sieve scripts; files hard-linked where possible'
complete -c darius -n "__fish_darius_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand export; and not __fish_seen_subcommand_from maildir mbox help" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand export; and not __fish_seen_subcommand_from maildir mbox help" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand export; and not __fish_seen_subcommand_from maildir mbox help" -f -a "maildir" -d 'A user\'s mailboxes as a Maildir++ tree Dovecot reads with the same UIDs and flags'
complete -c darius -n "__fish_darius_using_subcommand export; and not __fish_seen_subcommand_from maildir mbox help" -f -a "mbox" -d 'One mailbox as an mboxrd file with Status/X-Status/X-Keywords/X-UID/X-IMAPbase'
complete -c darius -n "__fish_darius_using_subcommand export; and not __fish_seen_subcommand_from maildir mbox help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand export; and __fish_seen_subcommand_from maildir" -l user -d 'The user whose mailboxes (INBOX and below) are exported' -r
complete -c darius -n "__fish_darius_using_subcommand export; and __fish_seen_subcommand_from maildir" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand export; and __fish_seen_subcommand_from maildir" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand export; and __fish_seen_subcommand_from mbox" -l mailbox -d 'The mailbox (internal name, `user.bovik.Sent`)' -r
complete -c darius -n "__fish_darius_using_subcommand export; and __fish_seen_subcommand_from mbox" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand export; and __fish_seen_subcommand_from mbox" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "maildir" -d 'A user\'s mailboxes as a Maildir++ tree Dovecot reads with the same UIDs and flags'
complete -c darius -n "__fish_darius_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "mbox" -d 'One mailbox as an mboxrd file with Status/X-Status/X-Keywords/X-UID/X-IMAPbase'
complete -c darius -n "__fish_darius_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand backup" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand backup" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand restore" -l user -d 'Only this user: their mailboxes, subscriptions, quota root and Sieve scripts, into the live store (refused where a mailbox of theirs exists)' -r
complete -c darius -n "__fish_darius_using_subcommand restore" -l mailbox -d 'Only this mailbox, by internal name (`user.bovik.Sent`), into the live store' -r
complete -c darius -n "__fish_darius_using_subcommand restore" -l to -d 'With --mailbox: restore it under this name instead' -r
complete -c darius -n "__fish_darius_using_subcommand restore" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand restore" -l force -d 'Replace a target store that already holds mailboxes, indexes or Sieve scripts'
complete -c darius -n "__fish_darius_using_subcommand restore" -s r -l recursive -d 'With --mailbox: the mailboxes below it too'
complete -c darius -n "__fish_darius_using_subcommand restore" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand collectnews" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand collectnews" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand rmnews" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand rmnews" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand syncnews" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand syncnews" -s n -l dry-run -d 'Dry run: say what would be created and removed, change nothing'
complete -c darius -n "__fish_darius_using_subcommand syncnews" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand completions" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand completions" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand manpages" -s C -l config -d 'imapd.conf to use. Without it, the embedded default: data under ./darius-data, services on 127.0.0.1 with unprivileged ports' -r -F
complete -c darius -n "__fish_darius_using_subcommand manpages" -s h -l help -d 'Print help'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "serve" -d 'Run every configured service in this process until SIGTERM or SIGINT'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "notifyd" -d 'Run the notification methods for servers that set `notifysocket` (Cyrus\'s notifyd), until killed'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "user" -d 'Manage users in the password database (through the running server when there is one)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "mailbox" -d 'Create, delete, rename and list mailboxes by internal name, as the administrator (through the running server when there is one)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "acl" -d 'Get, set and delete a mailbox\'s ACL entries by internal name, as the administrator (through the running server when there is one)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "quota" -d 'List quota roots with usage and limits, repair usage (-f), set or remove roots, by internal name as the administrator (through the running server when there is one)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "unexpunge" -d 'List (-l) or restore the messages a delayed expunge kept in MAILBOX, by internal name (through the running server when there is one)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "expire" -d 'Purge what delayed expunge kept longer than `expunge_days`, the mailboxes delayed delete hid longer than `delete_days`, and expired duplicate-delivery records (through the running server when there is one)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "undelete" -d 'List (-l) or bring back mailboxes a delayed delete hid, by internal name (through the running server when there is one)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "deliver" -d 'Deliver the message on standard input to USER… (Cyrus\'s `deliver`, for an MTA\'s mailbox_command): through the running server\'s lmtpsocket, or on the files when it is stopped. Exits with sysexits codes (75: try again later)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "reconstruct" -d 'Rebuild mailboxes\' indexes from their message files (-r below them, -f adopting unlisted files, -n as a dry run), or with -m the mailboxes database from the partitions (server stopped)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "check" -d 'Report, changing nothing, what disagrees between message files, indexes, the mailboxes database, partitions, quota usage and subscriptions; exit status 1 when anything does'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "mboxlist" -d 'Dump the mailboxes database as text, one mailbox per line, or apply such a dump (Cyrus\'s `ctl_mboxlist -d` and `-u`)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "murder" -d 'The Murder\'s directory in etcd: list it (dump), or reconcile this backend\'s mailboxes with it (sync); push them to a Cyrus mupdate master (mupdate-sync)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "who" -d 'List the running server\'s sessions: session id, host, user, selected mailbox'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "import" -d 'Import another server\'s mail, keeping UIDs, flags and dates (server stopped)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "export" -d 'Export mailboxes to Maildir or mbox, keeping UIDs, flags and dates (server stopped)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "backup" -d 'Make a consistent copy of the whole store into DEST while the server serves (through the running server when there is one): a data directory with its own imapd.conf'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "restore" -d 'Put a backup back in place of the whole store (server stopped)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "collectnews" -d 'Index the netnews articles a feed names (INN\'s `Wn`/`WR` file feed, or spool paths), one per line from FILE or standard input, in their newsgroups\' mailboxes'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "rmnews" -d 'Drop the articles `fastrm`\'s input names (spool paths or storage tokens) from the newsgroup mailboxes and unlink their files (INN\'s RMPROC)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "syncnews" -d 'Create and remove newsgroup mailboxes to match INN\'s active file (-n: dry run)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "completions" -d 'Print the completion script of SHELL (bash, zsh, fish, elvish, powershell) for darius'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "manpages" -d 'Write the manual pages darius(8) and darius-COMMAND(8), in roff, into DIR (the package ships them)'
complete -c darius -n "__fish_darius_using_subcommand help; and not __fish_seen_subcommand_from serve notifyd user mailbox acl quota unexpunge expire undelete deliver reconstruct check mboxlist murder who import export backup restore collectnews rmnews syncnews completions manpages help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "add" -d 'Add a user; the password is read from standard input (first line) or --password-file'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "passwd" -d 'Change a user\'s password (read like `add`)'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "del" -d 'Delete a user and all their mail (asks on a terminal; elsewhere needs --yes)'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "list" -d 'List users, one per line'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "show" -d 'Show which secret forms a user\'s password is stored in (`argon2id`, `scram-sha-1(N)`, `scram-sha-256(N)` with N iterations, `cram-md5`, `apop` for the copy `allowapop` keeps), never the secrets themselves'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "check" -d 'Check a user\'s password (read like `add`); exits 0 when it is right, 1 when not'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "import-sasldb" -d 'Add the users of a Cyrus SASL database (sasldb2) with their passwords'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from mailbox" -f -a "create" -d 'Create a mailbox (`user.NAME` creates a user\'s INBOX), optionally on a partition'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from mailbox" -f -a "delete" -d 'Delete a mailbox (`user.NAME` deletes the user\'s every mailbox and state)'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from mailbox" -f -a "rename" -d 'Rename a mailbox, optionally moving it to a partition'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from mailbox" -f -a "list" -d 'List mailboxes whose internal names match PATTERN (`*` and `%` as in IMAP LIST)'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from acl" -f -a "get" -d 'Print the mailbox\'s ACL, one `identifier rights` line per entry'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from acl" -f -a "set" -d 'Set an identifier\'s rights: `lrs` replaces them, `+p` adds, `-w` removes (as SETACL). A negative entry is `-identifier`'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from acl" -f -a "delete" -d 'Remove an identifier\'s entry (as DELETEACL)'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from mboxlist" -f -a "dump" -d 'Print the mailboxes database, one mailbox per line (name, partition, uniqueid, type, ACL, special-use), like Cyrus\'s `ctl_mboxlist -d`'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from mboxlist" -f -a "undump" -d 'Give mailboxes the ACL and special-use of a dump, and enter again those missing from the database whose directory is still on their partition (the server must be stopped)'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from murder" -f -a "dump" -d 'List the directory in etcd: one mailbox per line, `name<TAB>server!partition<TAB>state` (with --acl, its ACL as a fourth field)'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from murder" -f -a "sync" -d 'Make the directory say what this backend holds (Cyrus\'s `ctl_mboxlist -m`), through the running server: publish what is missing, correct what differs, settle reservations left by a crash, remove this server\'s entries whose mailbox is gone; names another server holds are reported. Exit status 1 when anything differed'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from murder" -f -a "mupdate-sync" -d 'Push this server\'s mailboxes to the Cyrus mupdate master `mupdate_server` names (through the running server, else from the stopped store): activate every mailbox at servername!PARTITION with its ACL, delete this server\'s entries whose mailbox is gone; names another server holds are reported. Exit status 1 when anything differed'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "maildir" -d 'A Dovecot Maildir++ tree (--user) or one Maildir folder (--mailbox), with dovecot-uidlist, dovecot-keywords and subscriptions'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "mbox" -d 'A Dovecot/UW mbox directory (--user) or one mbox file (--mailbox)'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "cyrus" -d 'A Cyrus 2.4/3.x store, found through its imapd.conf (--cyrus-config): mailboxes with their UIDs, UIDVALIDITY, flags, keywords, internal dates, ACLs and special-use, seen state, subscriptions, quota roots and Sieve scripts; files hard-linked where possible'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "maildir" -d 'A user\'s mailboxes as a Maildir++ tree Dovecot reads with the same UIDs and flags'
complete -c darius -n "__fish_darius_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "mbox" -d 'One mailbox as an mboxrd file with Status/X-Status/X-Keywords/X-UID/X-IMAPbase'
