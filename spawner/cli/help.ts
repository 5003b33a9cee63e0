/** The CLI's help texts (`kiln --help`, `kiln jobs --help`, `kiln jobs submit --help`). */
import type { Program } from './context';

export function mainHelp(p: Program): string {
  return `usage: ${p} <command> [options]

jobs (the API: --api-url, or KILN_API_URL, or http://API_HOST:API_PORT, default 127.0.0.1:8000;
      token from KILN_API_TOKEN):
  jobs submit …          submit a job and print its id (see "${p} jobs submit --help")
  jobs get <id>          one job: status, progress, timings, result or error
  jobs list              recent jobs [--status S] [--type T] [--limit N] [--cursor C]
  jobs watch <id>        live progress until the job ends; exit 0 succeeded, 1 failed, 2 cancelled, 6 expired
  jobs logs <id> [-f]    the job's log lines; -f follows them until the job ends
  jobs cancel <id>       cancel a queued or running job

workers:
  status [--watch]       workers and, per type, queued/running jobs, capacity and why work waits
                         (${p === 'kiln' ? 'from the API; --url asks a spawner instead' : 'from the spawner'})
                         --watch redraws it every --interval-ms (default 2000); --count N stops after N
  types                  worker types of this host's configuration (no daemon needed)
  start <type>           start a worker of a type (spawner: --url, WORKER_MANAGER_URL, default 127.0.0.1:8001)
  ensure <type>          make sure a worker of a type is running (idempotent)
  stop <worker_id>       stop a worker (drain, then SIGTERM, then SIGKILL) [--grace-ms MS]
  serve [--strict]       run the spawner daemon (SPAWNER_HOST:SPAWNER_PORT, default 127.0.0.1:8001);
                         --strict refuses to start on an unsafe Redis (evicting, no persistence)

options:
  --json                 machine-readable output: one JSON document (watch, follow: one object per line)
  --api-url <url>        the API (jobs commands${p === 'kiln' ? ', status' : ''})
  --url <url>            the spawner (start, ensure, stop${p === 'spawner' ? ', status' : ', status with --url'})
  -h, --help             help; "${p} jobs --help", "${p} jobs submit --help"

exit status: 0 ok · 1 the watched job failed · 2 it was cancelled · 3 no such job or worker
             4 the API or spawner is unreachable · 5 the server refused (bad input, token, conflict, full queue)
             6 the watched job expired in its queue (queued_ttl_s) · 64 usage
`;
}

export function jobsHelp(p: Program): string {
  return `usage: ${p} jobs <submit|get|list|watch|logs|cancel> [options]

  ${p} jobs submit --function echo --input '{"x": 1}' [--watch]
  ${p} jobs get <id> [--json]
  ${p} jobs list [--status queued|delayed|running|succeeded|failed|cancelled|expired] [--type node] [--limit 50]
  ${p} jobs watch <id> [--interval-ms 1000]     live bar on a terminal, plain lines otherwise
  ${p} jobs logs <id> [-f]                       -f: follow until the job ends
  ${p} jobs cancel <id>

watch exits 0 when the job succeeded, 1 failed, 2 cancelled, 6 expired unstarted in its queue,
3 unknown (or gone after its retention time), 4 API unreachable.
`;
}

export function submitHelp(p: Program): string {
  return `usage:
  ${p} jobs submit --function NAME [--input JSON]                      a Node function (POST /jobs)
  ${p} jobs submit training --model-type T --data-path P [--hp k=v …] [--gpu]
  ${p} jobs submit inference --model-type T --model-path JOB_ID [--inputs JSON] [--gpu]
  ${p} jobs submit [training|inference] --body FILE|-                  a raw JSON body (- reads stdin)

common options:
  --priority N           -1000…1000, higher runs first
  --timeout-s S          per-job timeout in seconds
  --max-attempts N       1…100
  --worker-type T        run on this worker type instead of the one the API picks
  --idempotency-key K    a retried submit with the same key returns the first job
  --watch                watch the job after submitting it (exit status as "jobs watch")
  --json                 print the API's answer instead of the job id

--hp values that parse as JSON are JSON (--hp n_estimators=50 is a number), others strings.
`;
}
