/**
 * Validates each agent config the control plane sends, at the cost of what changed rather than of the whole set.
 *
 * With 10,000 destinations a full contract check (valibot: ids, addresses, two ISO timestamps per destination)
 * takes tens of milliseconds on the event loop that also times the probes, and a config arrives on every API
 * write. A destination whose probe fields and `updatedAt` equal those of the destination already validated under
 * its id is the same destination: the earlier validated object is reused, so it is neither re-checked nor seen as
 * changed (the scheduler and the prober's per-destination cache compare it by identity). Any write through the
 * API moves `updatedAt`, and the probe fields are compared as well, so a change is never mistaken for none; only
 * labels or source lists edited without a new `updatedAt` would keep their previous value here, and the agent
 * does not use either.
 */
import * as v from 'valibot';
import {
  type AgentConfig,
  AgentConfigSchema,
  type Destination,
  DestinationSchema,
  flattenIssues,
} from '../../contract/index.js';

/** The config without its destinations, which are checked one by one. */
const EnvelopeSchema = v.object({ ...AgentConfigSchema.entries, destinations: v.array(v.unknown()) });

export type ReadConfig =
  | { success: true; output: AgentConfig; validated: number }
  | { success: false; issues: { path: string; message: string }[] };

/** Reads successive configs, remembering the destinations of the last one that passed. */
export class ConfigReader {
  #known = new Map<string, Destination>();

  /** Takes a config that is already trusted (the on-disk cache, validated when read) as the reference. */
  remember(config: AgentConfig): void {
    this.#known = new Map(config.destinations.map((d) => [d.id, d]));
  }

  /** Validates `json` against the contract; destinations unchanged since the last config are reused as they were. */
  read(json: unknown): ReadConfig {
    const envelope = v.safeParse(EnvelopeSchema, json);
    if (!envelope.success) return { success: false, issues: flattenIssues(envelope.issues) };
    const raw = envelope.output.destinations;
    const destinations: Destination[] = new Array(raw.length);
    const issues: { path: string; message: string }[] = [];
    let validated = 0;
    for (let i = 0; i < raw.length; i++) {
      const d = raw[i];
      const known = isRecord(d) && typeof d.id === 'string' ? this.#known.get(d.id) : undefined;
      if (known !== undefined && same(known, d as Record<string, unknown>)) {
        destinations[i] = known;
        continue;
      }
      validated++;
      const parsed = v.safeParse(DestinationSchema, d);
      if (parsed.success) destinations[i] = parsed.output;
      else {
        for (const issue of flattenIssues(parsed.issues)) {
          issues.push({
            path: `destinations.${i}${issue.path ? `.${issue.path}` : ''}`,
            message: issue.message,
          });
        }
      }
    }
    if (issues.length > 0) return { success: false, issues };
    const output: AgentConfig = { ...envelope.output, destinations };
    this.remember(output);
    return { success: true, output, validated };
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Whether `d` probes exactly as the validated `known` and has the same `updatedAt`. Spelled out field by field:
 * a loop over a list of keys makes every comparison a generic keyed lookup, several times slower at 10,000 a config.
 */
function same(known: Destination, d: Record<string, unknown>): boolean {
  return (
    known.updatedAt === d.updatedAt &&
    known.id === d.id &&
    known.active === d.active &&
    known.address === d.address &&
    known.protocol === d.protocol &&
    known.port === d.port &&
    known.interval === d.interval &&
    known.timeout === d.timeout &&
    known.ttl === d.ttl &&
    known.data === d.data &&
    sameCensus(known.census, d.census)
  );
}

/** Whether the raw `census` settings equal the validated ones (both absent for a single host, the common case). */
function sameCensus(known: Destination['census'], raw: unknown): boolean {
  if (known === undefined || raw === undefined) return known === raw;
  if (!isRecord(raw)) return false;
  return (
    known.rate === raw.rate &&
    known.retries === raw.retries &&
    known.split === raw.split &&
    known.goneAfter === raw.goneAfter
  );
}
