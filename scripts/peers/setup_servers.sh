#!/bin/bash
# From-scratch setup of the two peer servers (Debian 12, run as root), for darius-bench.
# Improved copy of ../shared/peers/setup_servers.sh: adds IMAPS listeners (self-signed
# certificate), connection limits for the idle workload (MAXCONN), a choice of Dovecot password
# scheme (D_PASS_SCHEME), skips apt when the packages are there, and writes $P/peers.env
# (PIDs, ports, versions, password storage) for scripts/bench-compare.
# usage: P=DIR ./setup_servers.sh   (DIR: where the peers keep their data; default ./peers-run)
# Starts: syslog sink (if /dev/log missing), Dovecot master, Cyrus master; prints PIDs.
set -euo pipefail
P=${P:-$PWD/peers-run}
HERE=$(cd "$(dirname "$0")" && pwd)
D_IMAP=${D_IMAP:-10143}; D_POP=${D_POP:-10110}; D_LMTP=${D_LMTP:-10024}; D_SIEVE=${D_SIEVE:-10190}
C_IMAP=${C_IMAP:-11143}; C_POP=${C_POP:-11110}; C_LMTP=${C_LMTP:-11024}; C_SIEVE=${C_SIEVE:-11190}
D_IMAPS=${D_IMAPS:-10993}; C_IMAPS=${C_IMAPS:-11993}
NUSERS=${NUSERS:-100}
# Most connections each server must accept (the idle workload opens up to 10,000).
MAXCONN=${MAXCONN:-1024}
# Dovecot's password scheme: PLAIN (as the shared script) or e.g. ARGON2ID, SHA512-CRYPT.
D_PASS_SCHEME=${D_PASS_SCHEME:-PLAIN}
export DEBIAN_FRONTEND=noninteractive
mkdir -p $P/debs
# 1. packages. cyrus-imapd/cyrus-pop3d Conflict with the virtual imap-server/pop3-server
#    that dovecot-imapd/-pop3d provide, so apt REMOVES dovecot-imapd/-pop3d when Cyrus is
#    installed. Install Cyrus + dovecot-core/lmtpd/sieve via apt, extract imapd/pop3d privately.
if ! dpkg -s dovecot-core dovecot-lmtpd dovecot-sieve cyrus-imapd cyrus-clients sasl2-bin >/dev/null 2>&1; then
apt-get install -y dovecot-core dovecot-lmtpd dovecot-dev dovecot-sieve dovecot-managesieved \
    cyrus-imapd cyrus-pop3d cyrus-clients cyrus-admin sasl2-bin >/dev/null
fi
ls $P/debs/dovecot-imapd_*.deb >/dev/null 2>&1 || (cd $P/debs && apt-get download dovecot-imapd dovecot-pop3d >/dev/null 2>&1)
# self-signed certificate for both servers' IMAPS listeners
mkdir -p $P/tls
[ -s $P/tls/key.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
    -keyout $P/tls/key.pem -out $P/tls/cert.pem >/dev/null 2>&1
chmod 644 $P/tls/cert.pem $P/tls/key.pem
mkdir -p $P/dovecot-root/modules
for d in $P/debs/dovecot-imapd_*.deb $P/debs/dovecot-pop3d_*.deb; do dpkg-deb -x "$d" $P/dovecot-root; done
for f in /usr/lib/dovecot/modules/*; do ln -sfn "$f" $P/dovecot-root/modules/; done
cp $P/dovecot-root/usr/lib/dovecot/modules/*.so $P/dovecot-root/modules/
# 2. Cyrus logs only via syslog; no syslogd here -> tiny sink on /dev/log
if [ ! -S /dev/log ]; then
  setsid nohup python3 $HERE/syslog_sink.py $P/syslog.log >/dev/null 2>&1 </dev/null &
  echo "syslog_sink pid $!"; sleep 1
fi
# 3. Dovecot
# Every idling imap process (all run as vmail) needs an inotify instance; beyond the kernel's
# default of 128 per user Dovecot falls back to polling every 30 s and IDLE clients miss new mail.
sysctl -w fs.inotify.max_user_instances=$((MAXCONN + 1024)) >/dev/null 2>&1 \
  || echo "warning: cannot raise fs.inotify.max_user_instances"
id vmail >/dev/null 2>&1 || useradd -r -u 5000 -U -d /nonexistent -s /usr/sbin/nologin vmail
mkdir -p $P/dovecot/{run,state,log} $P/dovecot-mail $P/dovecot-public
# Public namespace (shared mailboxes, for the list workload): the root's dovecot-acl is the
# default ACL of mailboxes without their own, and a new mailbox starts with its parent's ACL, so
# the account "admin" may create public mailboxes and set their ACLs over IMAP (CREATE, SETACL).
echo "user=admin lrwstipekxa" > $P/dovecot-public/dovecot-acl
chown vmail:vmail $P/dovecot-mail $P/dovecot-public $P/dovecot-public/dovecot-acl
if [ "$D_PASS_SCHEME" = PLAIN ]; then HASH='{PLAIN}pass'; else HASH=$(doveadm pw -s "$D_PASS_SCHEME" -p pass); fi
{ echo "admin:$HASH::::::"; for i in $(seq 1 $NUSERS); do echo "user$i:$HASH::::::"; done; } > $P/dovecot/users
chown root:dovecot $P/dovecot/users; chmod 640 $P/dovecot/users
X=$P/dovecot-root/usr/lib/dovecot
cat > $P/dovecot/dovecot.conf <<CONF
# Standalone Dovecot 2.3.19.1 config for peer benchmarking (loopback only)
instance_name = peers-dovecot-$(basename $P)
base_dir = $P/dovecot/run
state_dir = $P/dovecot/state
protocols = imap pop3 lmtp sieve
listen = 127.0.0.1
log_path = $P/dovecot/log/dovecot.log
info_log_path = $P/dovecot/log/dovecot-info.log
ssl = yes
ssl_cert = <$P/tls/cert.pem
ssl_key = <$P/tls/key.pem
disable_plaintext_auth = no
default_client_limit = $((MAXCONN + 100))
# SCRAM works from the PLAIN scheme of the passdb (Dovecot derives the keys at each login).
auth_mechanisms = plain login scram-sha-1 scram-sha-256
# The authentication cache (auth_cache_size; 0 = off, Dovecot's default), switched by
# scripts/bench-compare's login workload by rewriting this file and reloading.
!include_try $P/dovecot/auth-cache.conf
# strip any @domain so LMTP RCPT user1@localhost maps to user1
auth_username_format = %Ln
mail_location = maildir:$P/dovecot-mail/%u/Maildir
mail_uid = vmail
mail_gid = vmail
first_valid_uid = 5000
mail_plugins = \$mail_plugins acl quota
# dovecot-imapd/-pop3d binaries+imap plugins extracted with dpkg-deb -x (see above)
mail_plugin_dir = $P/dovecot-root/modules
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $P/dovecot/users
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$P/dovecot-mail/%n
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
  }
  mailbox Sent {
    special_use = \Sent
  }
  mailbox Trash {
    special_use = \Trash
  }
}
# Shared mailboxes: Public/NAME, visible to whoever their ACL gives the l right.
namespace public {
  type = public
  separator = /
  prefix = Public/
  location = maildir:$P/dovecot-public
  subscriptions = no
  list = yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $D_IMAP
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $D_IMAPS
    ssl = yes
  }
  executable = $X/imap-login
  client_limit = $((MAXCONN + 100))
  # high-performance mode: login processes serve many connections
  service_count = 0
  process_min_avail = 2
}
service imap {
  executable = $X/imap
  process_limit = $((MAXCONN + 100))
}
service imap-hibernate {
  executable = $X/imap-hibernate
}
service imap-urlauth {
  executable = $X/imap-urlauth
}
service imap-urlauth-login {
  executable = $X/imap-urlauth-login
}
service imap-urlauth-worker {
  executable = $X/imap-urlauth-worker
}
service pop3 {
  executable = $X/pop3
}
service pop3-login {
  executable = $X/pop3-login
  inet_listener pop3 {
    address = 127.0.0.1
    port = $D_POP
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $D_LMTP
  }
}
service managesieve-login {
  inet_listener sieve {
    address = 127.0.0.1
    port = $D_SIEVE
  }
}
protocol imap {
  mail_plugins = \$mail_plugins imap_acl imap_quota
  mail_max_userip_connections = $((MAXCONN + 100))
}
protocol pop3 {
  pop3_uidl_format = %08Xu%08Xv
}
protocol lmtp {
  mail_plugins = \$mail_plugins sieve
}
plugin {
  acl = vfile
  # SETACL for "anyone" (refused by default), for the list workload's public mailboxes
  acl_anyone = allow
  quota = maildir:User quota
  quota_rule = *:storage=10G
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
CONF
echo "auth_cache_size = 0" > $P/dovecot/auth-cache.conf
doveconf -c $P/dovecot/dovecot.conf -n > $P/dovecot/doveconf-n.txt
setsid nohup /usr/sbin/dovecot -F -c $P/dovecot/dovecot.conf > $P/dovecot/log/foreground.out 2>&1 </dev/null &
sleep 2; echo "dovecot master pid $(cat $P/dovecot/run/master.pid)"
# 4. Cyrus
# imapd tells idled about IDLE over a unix datagram socket; with the kernel's default queue of
# 10 datagrams, many clients starting IDLE at once get EAGAIN and are never notified (they fall
# back to polling every imapidlepoll seconds). A Cyrus admin would raise it; so do we.
sysctl -w net.unix.max_dgram_qlen=4096 >/dev/null 2>&1 || echo "warning: cannot raise net.unix.max_dgram_qlen"
C=$P/cyrus/imapd.conf
mkdir -p $P/cyrus/{run,spool,sieve} $P/cyrus/lib/{db,lock,log,msg,proc,quota,socket,user,sieve}
cat > $C <<CONF
# Standalone Cyrus IMAP 3.6.1 config for peer benchmarking (loopback only)
configdirectory: $P/cyrus/lib
defaultpartition: default
partition-default: $P/cyrus/spool
servername: localhost
# upstream 3.x defaults (Debian's /etc/imapd.conf turns these off):
altnamespace: yes
unixhierarchysep: yes
hashimapspool: true
admins: cyrus
allowplaintext: yes
allowanonymouslogin: no
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $P/cyrus/sasldb2
sasl_mech_list: PLAIN LOGIN SCRAM-SHA-1 SCRAM-SHA-256
sasl_auto_transition: no
tls_server_cert: $P/tls/cert.pem
tls_server_key: $P/tls/key.pem
lmtp_downcase_rcpt: yes
lmtpsocket: $P/cyrus/run/lmtp
idlesocket: $P/cyrus/run/idle
notifysocket: $P/cyrus/run/notify
sievedir: $P/cyrus/sieve
sieveusehomedir: false
popminpoll: 0
umask: 077
syslog_prefix: cyrus-peers
# Default delete_mode (delayed) renames to DELETED.<mbox>.<hex-seconds>; two
# DELETEs of the same name within one second collide ("Mailbox already exists"),
# which breaks imaptest's per-test DELETE/CREATE cycle. Use immediate deletes.
delete_mode: immediate
CONF
cat > $P/cyrus/cyrus.conf <<CONF
# Standalone Cyrus master config for peer benchmarking (loopback only).
# NB: master -C does not propagate to children in 3.6 (they fell back to
# /etc/imapd.conf), so every cmd gets an explicit -C.
START {
  recover   cmd="ctl_cyrusdb -C $C -r"
}
SERVICES {
  imap      cmd="imapd -C $C"     listen="127.0.0.1:$C_IMAP" prefork=5 maxchild=$MAXCONN
  imaps     cmd="imapd -s -C $C"  listen="127.0.0.1:$C_IMAPS" prefork=1 maxchild=$MAXCONN
  pop3      cmd="pop3d -C $C"     listen="127.0.0.1:$C_POP" prefork=1 maxchild=$MAXCONN
  lmtp      cmd="lmtpd -C $C -a"  listen="127.0.0.1:$C_LMTP" prefork=1 maxchild=50
  lmtpunix  cmd="lmtpd -C $C"     listen="$P/cyrus/run/lmtp" prefork=0 maxchild=20
  sieve     cmd="timsieved -C $C" listen="127.0.0.1:$C_SIEVE" prefork=0 maxchild=50
}
EVENTS {
  checkpoint cmd="ctl_cyrusdb -C $C -c" period=30
}
DAEMON {
  idled     cmd="idled -C $C"
}
CONF
rm -f $P/cyrus/sasldb2
for u in cyrus $(seq -f 'user%g' 1 $NUSERS); do echo pass | saslpasswd2 -p -f $P/cyrus/sasldb2 -u localhost -c $u; done
chown -R cyrus:mail $P/cyrus; chmod 640 $P/cyrus/sasldb2
setsid nohup /usr/lib/cyrus/bin/master -C $C -M $P/cyrus/cyrus.conf -p $P/cyrus/run/master.pid -D -l 1024 \
    > $P/cyrus/run/master.out 2>&1 </dev/null &
sleep 3; echo "cyrus master pid $(cat $P/cyrus/run/master.pid)"
python3 $HERE/cyrus_create_users.py $C_IMAP $NUSERS
DPID=$(cat $P/dovecot/run/master.pid); CPID=$(cat $P/cyrus/run/master.pid)
cat > $P/peers.env <<ENV
DOVECOT_PID=$DPID
CYRUS_PID=$CPID
DOVECOT_IMAP=$D_IMAP
DOVECOT_IMAPS=$D_IMAPS
DOVECOT_LMTP=$D_LMTP
CYRUS_IMAP=$C_IMAP
CYRUS_IMAPS=$C_IMAPS
CYRUS_LMTP=$C_LMTP
DOVECOT_POP3=$D_POP
CYRUS_POP3=$C_POP
DOVECOT_VERSION="$(dovecot --version 2>/dev/null | head -1)"
CYRUS_VERSION="$(dpkg-query -W -f='${Version}' cyrus-imapd 2>/dev/null)"
DOVECOT_PASSWORDS="passwd-file, scheme $D_PASS_SCHEME"
CYRUS_PASSWORDS="sasldb2 (auxprop), secrets stored in the clear"
DOVECOT_CONF=$P/dovecot/dovecot.conf
DOVECOT_FSYNC="mail_fsync = $(doveconf -c $P/dovecot/dovecot.conf -h mail_fsync 2>/dev/null)"
ENV
echo "wrote $P/peers.env"
