import { EXIT } from './exit-codes.js';

/** The text of `leasehold --help`. */
export const HELP = `leasehold: the operator tool of leasehold locks (conductors, node leases, orphans, recovery).

Usage:
  leasehold status [options]                 conductors online/offline, live leases, orphans waiting, audit records
  leasehold recover <node...> [options]      recover orphaned nodes: move each to its failed state, fenced
  leasehold watch [options]                  follow recovery events live, until Ctrl-C or SIGTERM
  leasehold help                             this text

Options of every command:
  --redis URL        Redis to use (password allowed, never printed)
                     (default: $REDIS_URL, else redis://127.0.0.1:6379)
  --prefix P         key prefix of the deployment, as given to RedisBackend (default: leasehold)
  --shards N         shards of the deployment, as given to RedisBackend (default: 16)
  --json             machine-readable output: one JSON document (watch: one JSON object per line)
  -h, --help         this text

Topology (at most one of --cluster, --sentinel, --quorum; none: --redis is one standalone Redis):
  --cluster          a Redis Cluster: --redis names seed nodes, URL[,URL...]; their user and password are used on
                     every node
  --sentinel LIST    the master found through Sentinel, host:port[,host:port...]; needs --master. The sentinels are
                     asked without a password; --redis (or $REDIS_URL), if given, only supplies the master's user,
                     password, database and rediss: (its host and port are not used)
  --master NAME      the name the sentinels monitor the master under (with --sentinel)
  --quorum LIST      quorum mode (QuorumBackend): URL,URL,URL (3 or 5 independent masters) for the leases; the
                     node store (--store redis), conductor registry and event streams are on --redis (or
                     $REDIS_URL), else on the first master. Goes on with a majority of the masters up (a warning
                     for each one down); with fewer, or that Redis down, exits ${EXIT.unreachable}

status:
  --audit N          how many of the latest audit records (forced breaks) to show (default: 10; 0: none)

recover:
  --force            break a live lease: the fence grows past it (its holder's writes are refused), its holder
                     hears "lost" at its next heartbeat, and an audit record is appended. Needs --reason.
  --reason TEXT      why (required with --force): written to the audit record
  --actor NAME       who is recovering (default: $USER@hostname): written to last_error and the audit record
  --ttl MS           TTL of the short recovery lease the CLI takes (default: 10000)
  --store KIND       where nodes live: redis (default: RedisNodeStore on the same Redis and prefix) or postgres
  --pg URL           PostgreSQL URL, with --store postgres (password allowed, never printed; needs "pg" installed)
  --pg-schema S      schema of the node table, with --store postgres (default: the search_path)
  --pg-table T       node table, with --store postgres (default: leasehold_nodes)

watch:
  --tail N           print the last N events first (default: 0: only new ones)

Exit codes (recover with several nodes exits with the highest):
  ${EXIT.ok}  ok
  ${EXIT.unexpected}  unexpected error (including a recovery attempt that failed)
  ${EXIT.usage}  bad usage: unknown command or option, bad value, conflicting options, --force without --reason, pg not installed
  ${EXIT.unreachable}  Redis (or PostgreSQL) unreachable, or it refused the credentials
  ${EXIT.unknownNode}  unknown node
  ${EXIT.notOrphaned}  node not orphaned: nobody holds it and its last lease was released; nothing to recover
  ${EXIT.liveLease}  node has a live lease: refused (the holder and its time left are printed); see --force

Examples:
  leasehold status --redis redis://:secret@redis.internal:6379 --prefix ironic
  leasehold recover node-1 node-2 --prefix ironic
  leasehold recover node-3 --force --reason "conductor-b hung on a BMC call, host rebooted" --prefix ironic
  leasehold watch --prefix ironic --json
  leasehold status --cluster --redis redis://:secret@redis-1:6379,redis://:secret@redis-2:6379 --shards 64
  leasehold status --sentinel sentinel-1:26379,sentinel-2:26379 --master mymaster --redis redis://:secret@mymaster
  leasehold recover node-3 --quorum redis://lock-1:6379,redis://lock-2:6379,redis://lock-3:6379 --redis redis://db:6379
`;
