# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_strata_global_optspecs
    string join \n r/repo= password-file= password-command= retry-lock= cache-dir= cache-limit= config= profile= h/help V/version
end

function __fish_strata_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_strata_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_strata_using_subcommand
    set -l cmd (__fish_strata_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c strata -n "__fish_strata_needs_command" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_needs_command" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_needs_command" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_needs_command" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_needs_command" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_needs_command" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_needs_command" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_needs_command" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_needs_command" -s V -l version -d 'Print version'
complete -c strata -n "__fish_strata_needs_command" -f -a "init" -d 'Create a repository'
complete -c strata -n "__fish_strata_needs_command" -f -a "backup" -d 'Back up files and directories into a new snapshot'
complete -c strata -n "__fish_strata_needs_command" -f -a "snapshots" -d 'List snapshots, oldest first'
complete -c strata -n "__fish_strata_needs_command" -f -a "ls" -d 'List the contents of a snapshot'
complete -c strata -n "__fish_strata_needs_command" -f -a "diff" -d 'What changed between two snapshots: + added, - removed, M content modified, T type changed, U metadata (with --metadata)'
complete -c strata -n "__fish_strata_needs_command" -f -a "dump" -d 'Write a file\'s content, or a directory as a tar stream (POSIX pax, every attribute kept), to standard output or --target'
complete -c strata -n "__fish_strata_needs_command" -f -a "run" -d 'Run a profile\'s whole job: before-hooks, backup (with database dumps), forget (and prune when due), mirror, check of the next part of the data, after-hooks (on-error hooks on failure); one summary'
complete -c strata -n "__fish_strata_needs_command" -f -a "find" -d 'Find files by name, path or content hash in every snapshot (or the chosen ones): which snapshots hold them, and with what size and time'
complete -c strata -n "__fish_strata_needs_command" -f -a "stats" -d 'What snapshots hold and cost: files, restore size, unique data, stored size, compression and deduplication (all snapshots by default)'
complete -c strata -n "__fish_strata_needs_command" -f -a "restore" -d 'Restore a snapshot, or a path within one, into a directory'
complete -c strata -n "__fish_strata_needs_command" -f -a "mount" -d 'Show the repository, one snapshot, or the state at a time, as a read-only filesystem'
complete -c strata -n "__fish_strata_needs_command" -f -a "forget" -d 'Remove snapshots, by id or by a retention policy (prune gives the space back)'
complete -c strata -n "__fish_strata_needs_command" -f -a "prune" -d 'Delete the data no snapshot uses any more, and give the space back'
complete -c strata -n "__fish_strata_needs_command" -f -a "rewrite" -d 'Take files out of existing snapshots: each becomes a new snapshot without them (a secret or a cache backed up by mistake)'
complete -c strata -n "__fish_strata_needs_command" -f -a "check" -d 'Verify the repository: its structure, and with --read-data its data'
complete -c strata -n "__fish_strata_needs_command" -f -a "repair" -d 'Remove damaged data from the repository, so that backups store it again'
complete -c strata -n "__fish_strata_needs_command" -f -a "hold" -d 'Hold snapshots (legal hold): a held snapshot survives every forget and prune'
complete -c strata -n "__fish_strata_needs_command" -f -a "tag" -d 'Change the tags of snapshots'
complete -c strata -n "__fish_strata_needs_command" -f -a "log" -d 'Show the audit log: every forget, prune, hold, tag change, rewrite and repair'
complete -c strata -n "__fish_strata_needs_command" -f -a "mirror" -d 'Copy the repository to another directory or a bucket, without the password'
complete -c strata -n "__fish_strata_needs_command" -f -a "key" -d 'Manage the passwords that unlock the repository'
complete -c strata -n "__fish_strata_needs_command" -f -a "generate" -d 'Generate man pages or shell completions'
complete -c strata -n "__fish_strata_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand init" -l chunk-min -d 'Minimum chunk size in bytes' -r
complete -c strata -n "__fish_strata_using_subcommand init" -l chunk-avg -d 'Average chunk size in bytes (a power of two)' -r
complete -c strata -n "__fish_strata_using_subcommand init" -l chunk-max -d 'Maximum chunk size in bytes (at most 16 MiB)' -r
complete -c strata -n "__fish_strata_using_subcommand init" -l compression -d 'zstd compression level (0 turns compression off)' -r
complete -c strata -n "__fish_strata_using_subcommand init" -l kdf-memory -d 'Argon2id memory for the password\'s key, in KiB (at least 8)' -r
complete -c strata -n "__fish_strata_using_subcommand init" -l kdf-iterations -d 'Argon2id passes (at least 1)' -r
complete -c strata -n "__fish_strata_using_subcommand init" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand init" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand init" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand init" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand init" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand init" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand init" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand init" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand init" -l no-encryption -d 'Store data unencrypted (only for storage you trust)'
complete -c strata -n "__fish_strata_using_subcommand init" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand backup" -l files-from -d 'Also back up the paths listed in this file, one a line (blank lines and lines starting with \'#\' ignored; \'-\' reads standard input; repeatable)' -r -F
complete -c strata -n "__fish_strata_using_subcommand backup" -l files-from-raw -d 'Also back up the paths listed in this file, each ended by a NUL byte, as `find -print0` writes them (\'-\' reads standard input; repeatable)' -r -F
complete -c strata -n "__fish_strata_using_subcommand backup" -l stdin-from-command -d 'Run this shell command and store its output as one file (a database dump: `pg_dump app`); when it exits nonzero no snapshot is written and its error output is shown' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l stdin-filename -d 'Where --stdin or --stdin-from-command\'s file appears in the snapshot: a name at its root, or an absolute path' -r -F
complete -c strata -n "__fish_strata_using_subcommand backup" -l host -d 'Host name recorded in the snapshot (default: this machine\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l tag -d 'Tag for the snapshot (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l description -d 'Free-text description of the snapshot' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l parent -d 'Snapshot to compare against for change detection (default: the newest one with the same host and paths)' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -s e -l exclude -d 'Leave out paths matching this glob; with a \'/\', matched against the whole path, else against each name (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l exclude-file -d 'Read exclude globs from this file, one a line' -r -F
complete -c strata -n "__fish_strata_using_subcommand backup" -l exclude-if-present -d 'Leave out directories holding an entry of this name, a marker such as .nobackup (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l exclude-larger-than -d 'Leave out files larger than this (500M, 2G)' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l time -d 'Record the snapshot as taken at this time (for imports): 2026-11-20T14:00:00Z, 2026-11-20T14:00 (local time), 2026-11-20, @1763647200' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand backup" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand backup" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand backup" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand backup" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand backup" -l stdin -d 'Also store standard input as one file (see --stdin-filename)'
complete -c strata -n "__fish_strata_using_subcommand backup" -l exclude-caches -d 'Leave out directories holding a valid CACHEDIR.TAG'
complete -c strata -n "__fish_strata_using_subcommand backup" -s x -l one-file-system -d 'Do not cross filesystem boundaries'
complete -c strata -n "__fish_strata_using_subcommand backup" -s n -l dry-run -d 'Read, chunk and compress everything, and say what the backup would add; write nothing (no snapshot; the repository is only read)'
complete -c strata -n "__fish_strata_using_subcommand backup" -l json -d 'Print progress and the summary as JSON lines'
complete -c strata -n "__fish_strata_using_subcommand backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l host -d 'Only snapshots of this host (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l tag -d 'Only snapshots with this tag (repeatable: any of them)' -r
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l path -d 'Only snapshots of this source path (repeatable: all of them)' -r -F
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l latest -d 'Only the newest N snapshots of each host and set of paths' -r
complete -c strata -n "__fish_strata_using_subcommand snapshots" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand snapshots" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand snapshots" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand ls" -l at -d 'The newest snapshot at or before this time (local time without a zone), instead of SNAPSHOT' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l host -d 'Choose among this host\'s snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l path -d 'Choose among snapshots of this source path' -r -F
complete -c strata -n "__fish_strata_using_subcommand ls" -l tag -d 'Choose among snapshots with this tag' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand ls" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand ls" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand ls" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand ls" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -s l -l long -d 'Long listing: mode, owner, size, time'
complete -c strata -n "__fish_strata_using_subcommand ls" -s R -l recursive -d 'List subdirectories too'
complete -c strata -n "__fish_strata_using_subcommand ls" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand ls" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand diff" -l host -d 'Choose among this host\'s snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l path -d 'Choose among snapshots of this source path' -r -F
complete -c strata -n "__fish_strata_using_subcommand diff" -l tag -d 'Choose among snapshots with this tag' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand diff" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand diff" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand diff" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand diff" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l metadata -d 'Also report changes of mode, owner, times and xattrs (U)'
complete -c strata -n "__fish_strata_using_subcommand diff" -l json -d 'Print JSON lines (one change a line, then the statistics) instead of text'
complete -c strata -n "__fish_strata_using_subcommand diff" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand dump" -l at -d 'The newest snapshot at or before this time (local time without a zone), instead of SNAPSHOT' -r
complete -c strata -n "__fish_strata_using_subcommand dump" -l host -d 'Choose among this host\'s snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand dump" -l path -d 'Choose among snapshots of this source path' -r -F
complete -c strata -n "__fish_strata_using_subcommand dump" -l tag -d 'Choose among snapshots with this tag' -r
complete -c strata -n "__fish_strata_using_subcommand dump" -l target -d 'Write to this file instead of standard output' -r -F
complete -c strata -n "__fish_strata_using_subcommand dump" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand dump" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand dump" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand dump" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand dump" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand dump" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand dump" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand dump" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand dump" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand run" -l metrics-file -d 'Write Prometheus textfile metrics here after the run (else the profile\'s metrics-file)' -r -F
complete -c strata -n "__fish_strata_using_subcommand run" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand run" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand run" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand run" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand run" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand run" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand run" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand run" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand run" -l json -d 'Print the summary as JSON'
complete -c strata -n "__fish_strata_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_using_subcommand find" -s s -l snapshot -d 'Search only this snapshot (as for ls; repeatable); default: every snapshot the selection keeps' -r
complete -c strata -n "__fish_strata_using_subcommand find" -l host -d 'Choose among this host\'s snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand find" -l path -d 'Choose among snapshots of this source path' -r -F
complete -c strata -n "__fish_strata_using_subcommand find" -l tag -d 'Choose among snapshots with this tag' -r
complete -c strata -n "__fish_strata_using_subcommand find" -l hash -d 'Files with this content: the BLAKE3 hash `b3sum` prints (and user.strata.blake3 in the mount shows)' -r
complete -c strata -n "__fish_strata_using_subcommand find" -l oldest -d 'Only entries modified at or after this time (local time without a zone)' -r
complete -c strata -n "__fish_strata_using_subcommand find" -l newest -d 'Only entries modified at or before this time' -r
complete -c strata -n "__fish_strata_using_subcommand find" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand find" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand find" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand find" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand find" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand find" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand find" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand find" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand find" -l json -d 'Print JSON lines (one match a line) instead of text'
complete -c strata -n "__fish_strata_using_subcommand find" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand stats" -l host -d 'Choose among this host\'s snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand stats" -l path -d 'Choose among snapshots of this source path' -r -F
complete -c strata -n "__fish_strata_using_subcommand stats" -l tag -d 'Choose among snapshots with this tag' -r
complete -c strata -n "__fish_strata_using_subcommand stats" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand stats" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand stats" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand stats" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand stats" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand stats" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand stats" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand stats" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand stats" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand stats" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand restore" -l at -d 'The newest snapshot at or before this time (local time without a zone), instead of SNAPSHOT' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -l host -d 'Choose among this host\'s snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -l path -d 'Choose among snapshots of this source path' -r -F
complete -c strata -n "__fish_strata_using_subcommand restore" -l tag -d 'Choose among snapshots with this tag' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -s i -l include -d 'Restore only paths matching this glob (repeatable): with a \'/\', a path relative to the restored directory, else a name at any depth' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -s e -l exclude -d 'Leave out paths matching this glob (repeatable), as --include matches' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -l include-xattr -d 'Set only the extended attributes whose names match this glob (repeatable; all by default)' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -l exclude-xattr -d 'Do not set extended attributes whose names match this glob (repeatable): \'security.selinux\', \'trusted.*\', or \'*\' for none, where the target refuses them' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -l overwrite -d 'What to do with files that exist in the target (needed when it is not empty)' -r -f -a "never\t'Keep every existing file'
if-changed\t'Replace an existing file whose type, size or mtime differ'
always\t'Replace every existing file'"
complete -c strata -n "__fish_strata_using_subcommand restore" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand restore" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand restore" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand restore" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand restore" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand restore" -s n -l dry-run -d 'Print what would be created, overwritten and deleted; change nothing'
complete -c strata -n "__fish_strata_using_subcommand restore" -l delete -d 'Remove files in the target that the snapshot lacks'
complete -c strata -n "__fish_strata_using_subcommand restore" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_using_subcommand mount" -l snapshot -d 'Show this snapshot\'s tree at the mount root (id, prefix, latest)' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l at -d 'Show the newest snapshot at or before this time at the mount root' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l host -d 'Choose among this host\'s snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l path -d 'Choose among snapshots of this source path' -r -F
complete -c strata -n "__fish_strata_using_subcommand mount" -l tag -d 'Choose among snapshots with this tag' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l log-file -d 'With --daemon: append the mount\'s log (read errors naming path and chunk) to this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand mount" -s o -d 'Mount options passed to FUSE (e.g. allow_other)' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l cache-size -d 'Bytes of decoded chunks and directories to cache (a fifth of it, at most 128 MiB, for directories). The mount\'s whole memory stays within this plus about 150 MiB (threads, buffers, RocksDB)' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand mount" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand mount" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand mount" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand mount" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l daemon -d 'Detach once the filesystem is mounted (a password is asked for first); its log then goes to --log-file, else to syslog'
complete -c strata -n "__fish_strata_using_subcommand mount" -l list-hash -d 'List user.strata.blake3 (each file\'s b3sum) among the xattrs, so `getfattr -d` shows it. Off by default, as `rsync -X` and `cp -a` would then copy it onto every restored file; it is always readable by name (`getfattr -n user.strata.blake3 FILE`)'
complete -c strata -n "__fish_strata_using_subcommand mount" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-last -d 'Keep the N newest snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-hourly -d 'Keep the newest snapshot of each of the last N hours with snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-daily -d 'Keep the newest snapshot of each of the last N days with snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-weekly -d 'Keep the newest snapshot of each of the last N ISO weeks with snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-monthly -d 'Keep the newest snapshot of each of the last N months with snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-yearly -d 'Keep the newest snapshot of each of the last N years with snapshots' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-within -d 'Keep every snapshot within SPAN (e.g. 2y5m7d3h) of the group\'s newest' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-within-hourly -d 'Keep the newest snapshot of each hour within SPAN of the group\'s newest' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-within-daily -d 'Keep the newest snapshot of each day within SPAN of the group\'s newest' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-within-weekly -d 'Keep the newest snapshot of each week within SPAN of the group\'s newest' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-within-monthly -d 'Keep the newest snapshot of each month within SPAN of the group\'s newest' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-within-yearly -d 'Keep the newest snapshot of each year within SPAN of the group\'s newest' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l keep-tag -d 'Keep every snapshot with this tag (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l group-by -d 'Group snapshots by these (host, paths, tags; \'\' for one group)' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l host -d 'Only snapshots of this host (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l tag -d 'Only snapshots with this tag (repeatable: any of them)' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l path -d 'Only snapshots of this source path (repeatable: all of them)' -r -F
complete -c strata -n "__fish_strata_using_subcommand forget" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand forget" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand forget" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand forget" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand forget" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand forget" -s n -l dry-run -d 'Say what would be removed; remove nothing'
complete -c strata -n "__fish_strata_using_subcommand forget" -l prune -d 'Run prune afterwards'
complete -c strata -n "__fish_strata_using_subcommand forget" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand forget" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_using_subcommand prune" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand prune" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand prune" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand prune" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand prune" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand prune" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand prune" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand prune" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand prune" -s n -l dry-run -d 'Say what would be removed and how much space would come back; change nothing'
complete -c strata -n "__fish_strata_using_subcommand prune" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand prune" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand rewrite" -s e -l exclude -d 'Take out paths matching this glob; with a \'/\', matched against the whole path, else against each name (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l exclude-file -d 'Read exclude globs from this file, one a line' -r -F
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l host -d 'Only snapshots of this host (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l tag -d 'Only snapshots with this tag (repeatable: any of them)' -r
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l path -d 'Only snapshots of this source path (repeatable: all of them)' -r -F
complete -c strata -n "__fish_strata_using_subcommand rewrite" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l exclude-lost -d 'Also take out the files whose data is lost (damaged, and removed by `repair`) and the directories whose listing is: what no backup could store again'
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l forget -d 'Remove each original snapshot once its rewrite is written (instead of tagging the rewrite `rewrite`)'
complete -c strata -n "__fish_strata_using_subcommand rewrite" -s n -l dry-run -d 'Say what would be taken out of which snapshots; write nothing'
complete -c strata -n "__fish_strata_using_subcommand rewrite" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand rewrite" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_using_subcommand check" -l read-data-subset -d 'Read and verify part of the data: n/t (the n-th of t parts), a percentage (10%) or a size (50G)' -r
complete -c strata -n "__fish_strata_using_subcommand check" -l max-age -d 'Also fail when the newest snapshot is older than this (26h, 2d)' -r
complete -c strata -n "__fish_strata_using_subcommand check" -l host -d 'With --max-age: only this host\'s snapshots count' -r
complete -c strata -n "__fish_strata_using_subcommand check" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand check" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand check" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand check" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand check" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand check" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand check" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand check" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand check" -l read-data -d 'Also read and verify every chunk record'
complete -c strata -n "__fish_strata_using_subcommand check" -l no-key -d 'Check without the password (checksums and structure only)'
complete -c strata -n "__fish_strata_using_subcommand check" -l json -d 'Print the report as one JSON document (counts, problems, what was not checked)'
complete -c strata -n "__fish_strata_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_using_subcommand repair" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand repair" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand repair" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand repair" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand repair" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand repair" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand repair" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand repair" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand repair" -s n -l dry-run -d 'Say what would be removed; change nothing'
complete -c strata -n "__fish_strata_using_subcommand repair" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand repair" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -f -a "add" -d 'Hold snapshots'
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -f -a "remove" -d 'Lift the holds of snapshots'
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -f -a "list" -d 'List held snapshots'
complete -c strata -n "__fish_strata_using_subcommand hold; and not __fish_seen_subcommand_from add remove list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -l reason -d 'Why they are held (recorded with the hold and in the log)' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -l until -d 'Let the hold lapse at this time' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from remove" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from remove" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from remove" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from remove" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from remove" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from remove" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from remove" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from remove" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from help" -f -a "add" -d 'Hold snapshots'
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Lift the holds of snapshots'
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from help" -f -a "list" -d 'List held snapshots'
complete -c strata -n "__fish_strata_using_subcommand hold; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand tag" -l add -d 'Add this tag (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand tag" -l remove -d 'Remove this tag (repeatable)' -r
complete -c strata -n "__fish_strata_using_subcommand tag" -l set -d 'Replace all tags with these (repeatable; --set \'\' removes them all)' -r
complete -c strata -n "__fish_strata_using_subcommand tag" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand tag" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand tag" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand tag" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand tag" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand tag" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand tag" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand tag" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand tag" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand log" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand log" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand log" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand log" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand log" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand log" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand log" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand log" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand log" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand log" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand mirror" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand mirror" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand mirror" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand mirror" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand mirror" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand mirror" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand mirror" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand mirror" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand mirror" -l without-keys -d 'Leave the key files out: the copy holds nothing that unlocks it (move them with `strata key export` and `key import`)'
complete -c strata -n "__fish_strata_using_subcommand mirror" -l prune -d 'Also remove at each target what the source no longer has (directories only, for now)'
complete -c strata -n "__fish_strata_using_subcommand mirror" -l json -d 'Print one JSON document: what was sent and skipped, per target'
complete -c strata -n "__fish_strata_using_subcommand mirror" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -f -a "remove" -d 'Remove a key file (a password): never the last one, nor the one in use without --force'
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -f -a "add" -d 'Add a password (asked for, or from --new-password-file)'
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -f -a "passwd" -d 'Change the password in use: adds a key for the new password, then removes the one the old password opened (data is not rewritten)'
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -f -a "list" -d 'List the key files'
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -f -a "export" -d 'Write the key files (each still locked by its password) to FILE, to keep apart from a mirror made --without-keys; needs no password'
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -f -a "import" -d 'Add the key files in FILE (from `key export`) to the repository, so its passwords open it; needs no password'
complete -c strata -n "__fish_strata_using_subcommand key; and not __fish_seen_subcommand_from remove add passwd list export import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -l force -d 'Also when it is the key your password opened'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l new-password-file -d 'Read the new password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l kdf-memory -d 'Argon2id memory for the password\'s key, in KiB (at least 8)' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l kdf-iterations -d 'Argon2id passes (at least 1)' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l new-password-file -d 'Read the new password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l kdf-memory -d 'Argon2id memory for the password\'s key, in KiB (at least 8)' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l kdf-iterations -d 'Argon2id passes (at least 1)' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from passwd" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of text'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from export" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from export" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from export" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from export" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from export" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from export" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from export" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from export" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from import" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from import" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from import" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from import" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from import" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from import" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from import" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from import" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a key file (a password): never the last one, nor the one in use without --force'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a password (asked for, or from --new-password-file)'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "passwd" -d 'Change the password in use: adds a key for the new password, then removes the one the old password opened (data is not rewritten)'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the key files'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "export" -d 'Write the key files (each still locked by its password) to FILE, to keep apart from a mirror made --without-keys; needs no password'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "import" -d 'Add the key files in FILE (from `key export`) to the repository, so its passwords open it; needs no password'
complete -c strata -n "__fish_strata_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -f -a "systemd" -d 'Print (or write into DIR) a systemd service and timer that run `strata run PROFILE` on the profile\'s schedule'
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -f -a "man" -d 'Write man pages into a directory'
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c strata -n "__fish_strata_using_subcommand generate; and not __fish_seen_subcommand_from systemd man completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from systemd" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from systemd" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from systemd" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from systemd" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from systemd" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from systemd" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from systemd" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from systemd" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from man" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from man" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from man" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from man" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from man" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from man" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from man" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from man" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from man" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from completions" -s r -l repo -d 'Repository directory' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from completions" -l password-file -d 'Read the password from the first line of this file' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from completions" -l password-command -d 'Run this shell command and use the first line it prints as the password' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from completions" -l retry-lock -d 'When another process writes to the repository, wait up to this long for it (30s, 5m, 1h) instead of failing at once' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from completions" -l cache-dir -d 'Where the local cache of a bucket repository (-r s3://...) lives [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from completions" -l cache-limit -d 'How much of a bucket\'s data that cache keeps (500M, 2G); pack indexes and snapshot records come on top' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from completions" -l config -d 'The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml when it exists, else /etc/strata/strata.toml]' -r -F
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from completions" -l profile -d 'Start from this profile: its repository and password, and for backup its sources, excludes, tags, host and database dumps, for mirror its targets; flags and the environment override it' -r
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from completions" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "systemd" -d 'Print (or write into DIR) a systemd service and timer that run `strata run PROFILE` on the profile\'s schedule'
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "man" -d 'Write man pages into a directory'
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "completions" -d 'Print a shell completion script'
complete -c strata -n "__fish_strata_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "init" -d 'Create a repository'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "backup" -d 'Back up files and directories into a new snapshot'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "snapshots" -d 'List snapshots, oldest first'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "ls" -d 'List the contents of a snapshot'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "diff" -d 'What changed between two snapshots: + added, - removed, M content modified, T type changed, U metadata (with --metadata)'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "dump" -d 'Write a file\'s content, or a directory as a tar stream (POSIX pax, every attribute kept), to standard output or --target'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "run" -d 'Run a profile\'s whole job: before-hooks, backup (with database dumps), forget (and prune when due), mirror, check of the next part of the data, after-hooks (on-error hooks on failure); one summary'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "find" -d 'Find files by name, path or content hash in every snapshot (or the chosen ones): which snapshots hold them, and with what size and time'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "stats" -d 'What snapshots hold and cost: files, restore size, unique data, stored size, compression and deduplication (all snapshots by default)'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "restore" -d 'Restore a snapshot, or a path within one, into a directory'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "mount" -d 'Show the repository, one snapshot, or the state at a time, as a read-only filesystem'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "forget" -d 'Remove snapshots, by id or by a retention policy (prune gives the space back)'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "prune" -d 'Delete the data no snapshot uses any more, and give the space back'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "rewrite" -d 'Take files out of existing snapshots: each becomes a new snapshot without them (a secret or a cache backed up by mistake)'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "check" -d 'Verify the repository: its structure, and with --read-data its data'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "repair" -d 'Remove damaged data from the repository, so that backups store it again'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "hold" -d 'Hold snapshots (legal hold): a held snapshot survives every forget and prune'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "tag" -d 'Change the tags of snapshots'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "log" -d 'Show the audit log: every forget, prune, hold, tag change, rewrite and repair'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "mirror" -d 'Copy the repository to another directory or a bucket, without the password'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "key" -d 'Manage the passwords that unlock the repository'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "generate" -d 'Generate man pages or shell completions'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff dump run find stats restore mount forget prune rewrite check repair hold tag log mirror key generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from hold" -f -a "add" -d 'Hold snapshots'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from hold" -f -a "remove" -d 'Lift the holds of snapshots'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from hold" -f -a "list" -d 'List held snapshots'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "remove" -d 'Remove a key file (a password): never the last one, nor the one in use without --force'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "add" -d 'Add a password (asked for, or from --new-password-file)'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "passwd" -d 'Change the password in use: adds a key for the new password, then removes the one the old password opened (data is not rewritten)'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "list" -d 'List the key files'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "export" -d 'Write the key files (each still locked by its password) to FILE, to keep apart from a mirror made --without-keys; needs no password'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "import" -d 'Add the key files in FILE (from `key export`) to the repository, so its passwords open it; needs no password'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "systemd" -d 'Print (or write into DIR) a systemd service and timer that run `strata run PROFILE` on the profile\'s schedule'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "man" -d 'Write man pages into a directory'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "completions" -d 'Print a shell completion script'
