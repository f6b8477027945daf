/**
 * Which destinations are live, remembered by a store instance for as long as the config log's `seq` stays put,
 * so that a batch of results over 1,000 destinations validates them without 10 BatchGetItems each time.
 *
 * Every change to a destination is a config change: it claims the next `seq` on META before it writes the
 * destination (log.ts). So a destination read after META showed `seq` S with nothing pending is as fresh as
 * S, and stays true until META shows another `seq`. Each batch reads META anyway (in the BatchGetItem that
 * reads its sentinel); while `seq` is the one cached under, the cached answers hold.
 *
 * The one order that would be unsafe: a destination read in the same BatchGetItem as META, whose reads
 * DynamoDB makes in no promised order. Such a read is cached only when META shows the `seq` the cache was
 * already under: then no change was claimed between the earlier META read and this one, so the read saw state
 * S whichever came first. Otherwise it serves its own batch only (exactly as every batch did before the cache).
 */
import { destinationKey, type Item, isLive, PART } from './items.js';
import { BATCH_GET_MAX, type Requests } from './requests.js';

/** Past this many destinations the cache is not kept (the partition would be read too often to be worth it). */
const MAX_ENTRIES = 100_000;

export class LiveDestinations {
  #seq: number | undefined;
  readonly #live = new Map<string, boolean>();
  /** The whole partition was read under `#seq`: an id it lacks does not exist. */
  #complete = false;
  /** Query pages the last whole-partition read took: reading it whole again costs about as many requests. */
  #pages = 1;

  /** The ids of `ids` the cache cannot answer for under its own `seq`. */
  unknown(ids: readonly string[]): string[] {
    return this.#complete ? [] : ids.filter((id) => !this.#live.has(id));
  }

  /**
   * What `ids` are, given META's `seq` (nothing pending) and the destination items read in the same request
   * (`inline`, keyed by id). Reads what neither answers for, after that META read.
   */
  async resolve(
    db: Requests,
    seq: number,
    ids: readonly string[],
    inline: ReadonlyMap<string, Item | undefined>,
  ): Promise<(id: string) => boolean> {
    const same = this.#seq === seq;
    if (!same) {
      this.#seq = seq;
      this.#live.clear();
      this.#complete = false;
    } else if (!this.#complete) {
      for (const [id, item] of inline) this.#remember(id, isLive(item));
    }
    const answers = new Map<string, boolean>();
    const missing: string[] = [];
    for (const id of ids) {
      if (inline.has(id)) answers.set(id, isLive(inline.get(id)));
      else if (this.#complete || this.#live.has(id)) answers.set(id, this.#live.get(id) === true);
      else missing.push(id);
    }
    if (missing.length > 0) for (const [id, live] of await this.#read(db, missing)) answers.set(id, live);
    return (id) => answers.get(id) === true;
  }

  #remember(id: string, live: boolean) {
    if (this.#live.size < MAX_ENTRIES) this.#live.set(id, live);
  }

  /** Reads `ids` by key, or the whole partition when that takes no more requests (it then answers for any id). */
  async #read(db: Requests, ids: readonly string[]): Promise<Map<string, boolean>> {
    const answers = new Map<string, boolean>();
    if (Math.ceil(ids.length / BATCH_GET_MAX) < this.#pages) {
      const found = await db.batchGet(ids.map(destinationKey), { expression: 'pk, sk, gone' });
      for (const id of ids) answers.set(id, isLive(found.get(`${PART.destination}\n${id}`)));
    } else {
      let pages = 0;
      let start: Record<string, unknown> | undefined;
      const live = new Set<string>();
      do {
        const page = await db.queryPage(
          {
            KeyConditionExpression: 'pk = :pk',
            ProjectionExpression: 'sk, gone',
            ExpressionAttributeValues: { ':pk': PART.destination },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          },
          'destination list',
        );
        pages++;
        for (const item of page.items) if (isLive(item)) live.add(String(item.sk));
        start = page.next;
      } while (start);
      this.#pages = pages;
      for (const id of ids) answers.set(id, live.has(id));
      if (live.size <= MAX_ENTRIES) {
        this.#live.clear();
        for (const id of live) this.#live.set(id, true);
        this.#complete = true;
        return answers;
      }
    }
    for (const [id, live] of answers) this.#remember(id, live);
    return answers;
  }
}
