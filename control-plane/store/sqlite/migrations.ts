/**
 * The SQLite schema as an append-only list of migrations. `PRAGMA user_version` records how many have been
 * applied; opening a file applies the rest in one transaction. Never edit a shipped migration: add one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: sources, destinations, tokens, results.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) STRICT;
  INSERT INTO meta (key, value) VALUES ('config_version', 0);

  CREATE TABLE sources (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    location   INTEGER NOT NULL,
    host       INTEGER NOT NULL,
    sourceid   INTEGER NOT NULL UNIQUE CHECK (sourceid BETWEEN 0 AND 65535),
    address    TEXT,
    labels     TEXT NOT NULL,
    last_seen  TEXT,
    created_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE destinations (
    id         TEXT PRIMARY KEY,
    active     INTEGER NOT NULL,
    address    TEXT NOT NULL,
    protocol   TEXT NOT NULL,
    port       INTEGER,
    interval   INTEGER NOT NULL,
    timeout    INTEGER NOT NULL,
    ttl        INTEGER NOT NULL,
    data       TEXT NOT NULL,
    labels     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX destinations_created ON destinations (created_at, id);

  -- Which sources probe a destination; none means every source. position keeps the order the operator gave.
  CREATE TABLE destination_sources (
    destination TEXT NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    source      TEXT NOT NULL REFERENCES sources (id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (destination, source)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX destination_sources_source ON destination_sources (source);

  CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('admin', 'read', 'agent')),
    source_id  TEXT REFERENCES sources (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX tokens_source ON tokens (source_id);

  -- Results name their source and destination by a small integer: the key is repeated in every row and every
  -- index, and integers keep both compact and quick to compare. Rows are never deleted (results outlive what
  -- they name); one is added with each source and destination.
  CREATE TABLE result_keys (
    num INTEGER PRIMARY KEY,
    id  TEXT NOT NULL UNIQUE
  ) STRICT;

  -- One row per probe. The primary key is the result's identity, so INSERT OR IGNORE makes retries harmless;
  -- led by rtime, it is also the newest-first listing order. rtime is ns since the epoch as a signed 64-bit
  -- INTEGER, so it orders numerically.
  CREATE TABLE results (
    rtime       INTEGER NOT NULL,
    source      INTEGER NOT NULL,
    destination INTEGER NOT NULL,
    rseq        INTEGER NOT NULL,
    target      TEXT NOT NULL,
    protocol    TEXT NOT NULL,
    address     TEXT,
    rtt         REAL,
    rtype       INTEGER,
    rcode       INTEGER,
    rid         INTEGER NOT NULL,
    datamatch   INTEGER,
    status      TEXT NOT NULL,
    ttl         INTEGER,
    rsite       INTEGER NOT NULL,
    rhost       INTEGER NOT NULL,
    PRIMARY KEY (rtime, source, destination, rseq)
  ) STRICT, WITHOUT ROWID;
  -- Filtered newest-first listing. In a WITHOUT ROWID table an index carries the rest of the primary key, so
  -- ties on rtime are ordered by the rest of the identity too, which the cursor relies on.
  CREATE INDEX results_destination ON results (destination, rtime);
  CREATE INDEX results_source ON results (source, rtime);
  `,
  // 2: rollup tiers (issue 10). One row per (destination, source, slot): t is the slot's start in seconds since
  // the epoch (a multiple of 60, 3,600 or 86,400). Written in the same transaction as the results they count
  // (control-plane/store/sqlite/rollups.ts; since migration 6, in the transaction that closes their minute, with
  // the raw results as the log in between: open-minutes.ts); the columns are a rollup Bucket (control-plane/rollup/bucket.ts).
  // first_/last_rtime and _rtt mark the first and last reply of a minute, which joins the jitter of batches;
  // they are NULL in the hour and day tiers. Keyed by time first: a batch touches many pairs of the same
  // minute, and their rows then share a few pages instead of dirtying one page per pair (with 1,000 pairs,
  // 30 pages written per tier and batch instead of 1,000); time first also serves retention and the
  // all-pairs summary. The (destination, source, t) index serves one pair's series; it changes only when a
  // slot's row is first made.
  `
  CREATE TABLE rollup_minute (
    destination  INTEGER NOT NULL,
    source       INTEGER NOT NULL,
    t            INTEGER NOT NULL,
    sent         INTEGER NOT NULL,
    reply        INTEGER NOT NULL,
    timeout      INTEGER NOT NULL,
    ttl_exceeded INTEGER NOT NULL,
    unreachable  INTEGER NOT NULL,
    reset        INTEGER NOT NULL,
    error        INTEGER NOT NULL,
    rtt_min      REAL,
    rtt_max      REAL,
    rtt_sum      REAL NOT NULL,
    rtt_sumsq    REAL NOT NULL,
    jitter_sum   REAL NOT NULL,
    jitter_count INTEGER NOT NULL,
    first_rtime  INTEGER,
    first_rtt    REAL,
    last_rtime   INTEGER,
    last_rtt     REAL,
    sketch       BLOB NOT NULL,
    last_result  INTEGER NOT NULL,
    last_status  TEXT NOT NULL,
    PRIMARY KEY (t, destination, source)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX rollup_minute_pair ON rollup_minute (destination, source, t);
  CREATE TABLE rollup_hour (
    destination  INTEGER NOT NULL,
    source       INTEGER NOT NULL,
    t            INTEGER NOT NULL,
    sent         INTEGER NOT NULL,
    reply        INTEGER NOT NULL,
    timeout      INTEGER NOT NULL,
    ttl_exceeded INTEGER NOT NULL,
    unreachable  INTEGER NOT NULL,
    reset        INTEGER NOT NULL,
    error        INTEGER NOT NULL,
    rtt_min      REAL,
    rtt_max      REAL,
    rtt_sum      REAL NOT NULL,
    rtt_sumsq    REAL NOT NULL,
    jitter_sum   REAL NOT NULL,
    jitter_count INTEGER NOT NULL,
    first_rtime  INTEGER,
    first_rtt    REAL,
    last_rtime   INTEGER,
    last_rtt     REAL,
    sketch       BLOB NOT NULL,
    last_result  INTEGER NOT NULL,
    last_status  TEXT NOT NULL,
    PRIMARY KEY (t, destination, source)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX rollup_hour_pair ON rollup_hour (destination, source, t);
  CREATE TABLE rollup_day (
    destination  INTEGER NOT NULL,
    source       INTEGER NOT NULL,
    t            INTEGER NOT NULL,
    sent         INTEGER NOT NULL,
    reply        INTEGER NOT NULL,
    timeout      INTEGER NOT NULL,
    ttl_exceeded INTEGER NOT NULL,
    unreachable  INTEGER NOT NULL,
    reset        INTEGER NOT NULL,
    error        INTEGER NOT NULL,
    rtt_min      REAL,
    rtt_max      REAL,
    rtt_sum      REAL NOT NULL,
    rtt_sumsq    REAL NOT NULL,
    jitter_sum   REAL NOT NULL,
    jitter_count INTEGER NOT NULL,
    first_rtime  INTEGER,
    first_rtt    REAL,
    last_rtime   INTEGER,
    last_rtt     REAL,
    sketch       BLOB NOT NULL,
    last_result  INTEGER NOT NULL,
    last_status  TEXT NOT NULL,
    PRIMARY KEY (t, destination, source)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX rollup_day_pair ON rollup_day (destination, source, t);
  `,
  // 3: running totals per (destination, source) for /metrics' counters (issue 10): added to in the same
  // transaction as the tiers, never pruned, so a counter read from here only ever grows, across restarts and
  // retention passes alike. Filled from the day tier for files that already hold rollups.
  `
  CREATE TABLE rollup_total (
    destination INTEGER NOT NULL,
    source      INTEGER NOT NULL,
    sent        INTEGER NOT NULL,
    reply       INTEGER NOT NULL,
    PRIMARY KEY (destination, source)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO rollup_total (destination, source, sent, reply)
    SELECT destination, source, SUM(sent), SUM(reply) FROM rollup_day GROUP BY destination, source;
  `,
  // 4: how each result was timed (contract TimingSchema), NULL for results of agents older than the mark. 1 is
  // the kernel's stamp and 0 the process's clock (integers: SQLite stores 0 and 1 in no payload bytes);
  // timing_receive is NULL as well when nothing answered.
  `
  ALTER TABLE results ADD COLUMN timing_send INTEGER CHECK (timing_send IN (0, 1));
  ALTER TABLE results ADD COLUMN timing_receive INTEGER CHECK (timing_receive IN (0, 1));
  ALTER TABLE results ADD COLUMN timing_lateness INTEGER CHECK (timing_lateness >= 0);
  `,
  // 5: censuses (issue 11). A destination's census settings as JSON (NULL for a single host). Passes keyed by their
  // identity (destination, source, start), so a retried report stores once; hosts are the addresses that ever
  // answered (unanswered addresses are only counted in the pass); events say when a host appeared or went. The
  // destination is its id, not a result key: these tables are small and deleted with their destination.
  `
  ALTER TABLE destinations ADD COLUMN census TEXT;

  CREATE TABLE census_passes (
    destination TEXT NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL,
    prefix      TEXT NOT NULL,
    addresses   INTEGER NOT NULL,
    probed      INTEGER NOT NULL,
    answered    INTEGER NOT NULL,
    retries     INTEGER NOT NULL,
    errors      INTEGER NOT NULL,
    skipped     INTEGER NOT NULL,
    rate        INTEGER NOT NULL,
    PRIMARY KEY (destination, start, source)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE census_hosts (
    destination     TEXT NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    address         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('up', 'down')),
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    last_rtt        REAL,
    passes_answered INTEGER NOT NULL,
    missed          INTEGER NOT NULL,
    last_pass       INTEGER NOT NULL,
    PRIMARY KEY (destination, address)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE census_events (
    destination TEXT NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    address     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('appeared', 'gone')),
    PRIMARY KEY (destination, at, address, kind)
  ) STRICT, WITHOUT ROWID;
  `,
  // 6: the open-minute cache's watermark per source (issue 10, control-plane/store/sqlite/open-minutes.ts): the
  // tiers hold exactly the source's raw results of minutes up to it. Rollups were written whole with every batch
  // before this migration, so each source starts at the minute of its newest result.
  // And a 10-minute and a 6-hour tier that only the summary reads (stats-read.ts): a 24 h window is then at
  // most 3 six-hour rows, 5 hours, 5 ten-minute rows and 9 minutes each side, instead of 23 hours and 60
  // minutes. Made from the minutes and hours already stored (pinger_sketch_sum is registered before migrations
  // run), kept as long as the minute and the hour tier.
  `
  CREATE TABLE rollup_watermark (
    source INTEGER PRIMARY KEY,
    minute INTEGER NOT NULL
  ) STRICT;
  INSERT INTO rollup_watermark (source, minute)
    SELECT source, max(rtime) / 1000000000 - (max(rtime) / 1000000000) % 60 FROM results GROUP BY source;
  CREATE TABLE rollup_tenmin (
    destination  INTEGER NOT NULL,
    source       INTEGER NOT NULL,
    t            INTEGER NOT NULL,
    sent         INTEGER NOT NULL,
    reply        INTEGER NOT NULL,
    timeout      INTEGER NOT NULL,
    ttl_exceeded INTEGER NOT NULL,
    unreachable  INTEGER NOT NULL,
    reset        INTEGER NOT NULL,
    error        INTEGER NOT NULL,
    rtt_min      REAL,
    rtt_max      REAL,
    rtt_sum      REAL NOT NULL,
    rtt_sumsq    REAL NOT NULL,
    jitter_sum   REAL NOT NULL,
    jitter_count INTEGER NOT NULL,
    first_rtime  INTEGER,
    first_rtt    REAL,
    last_rtime   INTEGER,
    last_rtt     REAL,
    sketch       BLOB NOT NULL,
    last_result  INTEGER NOT NULL,
    last_status  TEXT NOT NULL,
    PRIMARY KEY (t, destination, source)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO rollup_tenmin
    SELECT destination, source, t - t % 600, sum(sent), sum(reply), sum(timeout), sum(ttl_exceeded),
      sum(unreachable), sum(reset), sum(error), min(rtt_min), max(rtt_max), sum(rtt_sum), sum(rtt_sumsq),
      sum(jitter_sum), sum(jitter_count), NULL, NULL, NULL, NULL, pinger_sketch_sum(sketch), max(last_result),
      last_status
    FROM rollup_minute GROUP BY t - t % 600, destination, source;
  CREATE TABLE rollup_sixhour (
    destination  INTEGER NOT NULL,
    source       INTEGER NOT NULL,
    t            INTEGER NOT NULL,
    sent         INTEGER NOT NULL,
    reply        INTEGER NOT NULL,
    timeout      INTEGER NOT NULL,
    ttl_exceeded INTEGER NOT NULL,
    unreachable  INTEGER NOT NULL,
    reset        INTEGER NOT NULL,
    error        INTEGER NOT NULL,
    rtt_min      REAL,
    rtt_max      REAL,
    rtt_sum      REAL NOT NULL,
    rtt_sumsq    REAL NOT NULL,
    jitter_sum   REAL NOT NULL,
    jitter_count INTEGER NOT NULL,
    first_rtime  INTEGER,
    first_rtt    REAL,
    last_rtime   INTEGER,
    last_rtt     REAL,
    sketch       BLOB NOT NULL,
    last_result  INTEGER NOT NULL,
    last_status  TEXT NOT NULL,
    PRIMARY KEY (t, destination, source)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO rollup_sixhour
    SELECT destination, source, t - t % 21600, sum(sent), sum(reply), sum(timeout), sum(ttl_exceeded),
      sum(unreachable), sum(reset), sum(error), min(rtt_min), max(rtt_max), sum(rtt_sum), sum(rtt_sumsq),
      sum(jitter_sum), sum(jitter_count), NULL, NULL, NULL, NULL, pinger_sketch_sum(sketch), max(last_result),
      last_status
    FROM rollup_hour GROUP BY t - t % 21600, destination, source;
  `,
  // 7: per rollup slot and running total, the results with an RTT not timed by the kernel on both ends (issue 13;
  // Bucket.processTimed in control-plane/rollup/bucket.ts). Rows made before this migration count 0: they are
  // not recounted from raw results, which the minute tier outlives. Minutes still open when it runs are rebuilt
  // from their raw rows at open (open-minutes.ts), so they count in full.
  `
  ALTER TABLE rollup_minute ADD COLUMN process_timed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE rollup_tenmin ADD COLUMN process_timed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE rollup_hour ADD COLUMN process_timed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE rollup_sixhour ADD COLUMN process_timed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE rollup_day ADD COLUMN process_timed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE rollup_total ADD COLUMN process_timed INTEGER NOT NULL DEFAULT 0;
  `,
  // 8: split censuses (issue 11). The pps budget an agent reports with its config poll, which sizes its slices;
  // and a split pass's slot (the wall-clock time that names the pass across sources) and slice. NULL for a
  // single-source pass and for sources whose agent has not said.
  `
  ALTER TABLE sources ADD COLUMN pps INTEGER;
  ALTER TABLE census_passes ADD COLUMN slot INTEGER;
  ALTER TABLE census_passes ADD COLUMN slice_from INTEGER;
  ALTER TABLE census_passes ADD COLUMN slice_to INTEGER;
  ALTER TABLE census_passes ADD COLUMN slice_of INTEGER;
  `,
  // 9: split censuses that leave out a source which does not deliver (census/split-members.ts). A slice's
  // members — the sources its agent was told the census is split among, a JSON array of ids, NULL for agents
  // before them — tell whose slice of a pass is missing; and every agent config poll of a split census reads the
  // newest passes, so they get an index in the order census.ts lists them: by pass time (the slot, or the start
  // of a single-source pass), then the source of a single-source pass. It lets the listing read the newest
  // passes alone (0.3 ms for 48 of 4,000 against 2.2 ms scanning them all and sorting).
  `
  ALTER TABLE census_passes ADD COLUMN slice_members TEXT;
  CREATE INDEX census_passes_by_time
    ON census_passes (destination, COALESCE(slot, start), CASE WHEN slot IS NULL THEN source END);
  `,
  // 10: per-host census history (issue 11): one row per (pass, census, host) the host answered, written with the
  // pass (a miss is a pass with no row). Keyed by pass time first, so a pass's rows append at the end of the
  // tree (a /16 pass writes tens of thousands in one transaction: keyed by host first, each would land on its
  // own page) and retention deletes from the front; one host's history is a lookup per pass in range. The
  // census is its result_keys number, not its text id: millions of rows. Not deleted with the destination
  // (results are not either): retention takes them.
  `
  CREATE TABLE census_host_passes (
    at      INTEGER NOT NULL,
    census  INTEGER NOT NULL,
    address TEXT NOT NULL,
    rtt     REAL,
    PRIMARY KEY (at, census, address)
  ) STRICT, WITHOUT ROWID;
  `,
];
