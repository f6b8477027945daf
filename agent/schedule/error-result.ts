/**
 * The result of a probe that failed before it could be sent (its address did not resolve, the prober threw): still
 * a result, so the destination's seqs have no gap and the failure is countable.
 */
import { addressKind, type Destination, protocolFamily, type ResultInput } from '../../contract/index.js';
import { unsentOutcome } from '../probes/types.js';

/**
 * An `error` result for probe `seq` of `destination`, received at `rtime` (wall clock, ns since the epoch, as a
 * decimal string). Its target is the destination's address when that is an IP literal, else the unspecified
 * address of the protocol's family (the name never resolved to one).
 */
export function errorResult(destination: Destination, seq: number, rtime: string): ResultInput {
  const kind = addressKind(destination.address);
  const target =
    kind === 4 || kind === 6
      ? destination.address
      : protocolFamily(destination.protocol) === 6
        ? '::'
        : '0.0.0.0';
  return {
    destination: destination.id,
    ...unsentOutcome({ rtime, target, protocol: destination.protocol, rseq: seq }),
  };
}
