#!/usr/bin/env bash
# Start a real single-node SLURM on localhost, with accounting (slurmdbd + MariaDB), for tests and CI.
# Installs Debian's slurm-wlm pieces and munge if missing. Run as root. State lives under $SLURM_TEST_DIR
# (default /tmp/eeg2music-slurm); tests/slurm/stop_slurm.sh stops every daemon by its PID file.
# Settings follow ../shared/notes/local-slurm.md: linuxproc tracking, no task plugin, requeue allowed, fast
# requeue (cred_expire=5, 1-2 s scheduler intervals), preemption by partition priority with the job's signal sent.
set -euo pipefail
DIR=${SLURM_TEST_DIR:-/tmp/eeg2music-slurm}
CLUSTER=eeg2music
ACCOUNT=${SLURM_TEST_ACCOUNT:-eeg2music-test}
HOST=$(hostname -s)

need=()
for bin in slurmctld slurmd sbatch slurmdbd munged mariadbd; do command -v "$bin" >/dev/null || need+=("$bin"); done
if ((${#need[@]})); then
  echo "installing SLURM, munge and MariaDB (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  # one apt at a time: the other test worker may be installing chromium (tests/chromium.py takes the same lock)
  flock /tmp/eeg2music-apt.lock apt-get update -qq
  flock /tmp/eeg2music-apt.lock apt-get install -y -qq slurmctld slurmd slurm-client slurmdbd munge mariadb-server \
    >/dev/null
fi
grep -q "[[:space:]]$HOST\b" /etc/hosts || echo "127.0.0.1 $HOST" >> /etc/hosts

mkdir -p "$DIR"/{state,spool,log,run,etc,mysql}
# munge: a 1024-byte key, daemon as the munge user
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  cp /run/munge/munged.pid "$DIR/run/munged.pid"
fi

# MariaDB for slurmdbd (its pid and socket must live under /run/mysqld, owned by mysql)
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
chown -R mysql:mysql "$DIR/mysql"
if [ ! -d "$DIR/mysql/mysql" ]; then
  mariadb-install-db --user=mysql --datadir="$DIR/mysql" >/dev/null 2>&1
fi
if ! mariadb-admin --socket=/run/mysqld/mysqld.sock ping >/dev/null 2>&1; then
  (mariadbd --user=mysql --datadir="$DIR/mysql" --socket=/run/mysqld/mysqld.sock --skip-networking=0 \
     --bind-address=127.0.0.1 --pid-file=/run/mysqld/eeg2music.pid >"$DIR/log/mariadb.log" 2>&1 &)
  for _ in $(seq 60); do mariadb-admin --socket=/run/mysqld/mysqld.sock ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
mariadb --socket=/run/mysqld/mysqld.sock -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"

MEM=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
MEM=$((MEM - 1024))
CPUS=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # nproc obeys OMP_NUM_THREADS, which test workers set to 1
cat > "$DIR/etc/slurmdbd.conf" <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
CONF
chmod 600 "$DIR/etc/slurmdbd.conf"
cat > "$DIR/etc/slurm.conf" <<CONF
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=5
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobRequeue=1
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
SchedulerParameters=bf_interval=1,sched_interval=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageEnforce=associations
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
ReturnToService=2
KillWait=10
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=normal Nodes=$HOST Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=10
PartitionName=high Nodes=$HOST MaxTime=INFINITE State=UP PriorityTier=10
CONF
export SLURM_CONF=$DIR/etc/slurm.conf
ln -sf "$DIR/etc/slurm.conf" /etc/slurm/slurm.conf 2>/dev/null || { mkdir -p /etc/slurm; ln -sf "$DIR/etc/slurm.conf" /etc/slurm/slurm.conf; }

slurmdbd  # reads slurmdbd.conf beside $SLURM_CONF
for _ in $(seq 60); do sacctmgr -n show cluster >/dev/null 2>&1 && break; sleep 0.5; done
sacctmgr -i add cluster "$CLUSTER" >/dev/null 2>&1 || true
sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" >/dev/null 2>&1 || true
sacctmgr -i add user root account="$ACCOUNT" cluster="$CLUSTER" >/dev/null 2>&1 || true

slurmctld -i -f "$DIR/etc/slurm.conf"
slurmd -f "$DIR/etc/slurm.conf"
for _ in $(seq 120); do
  state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -1)
  [ "$state" = "idle" ] && { echo "SLURM up: node $HOST idle, account $ACCOUNT, state in $DIR"; exit 0; }
  sleep 0.5
done
echo "SLURM did not come up: node state '${state:-none}'; see $DIR/log/" >&2
exit 1
