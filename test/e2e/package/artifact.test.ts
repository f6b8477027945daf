/**
 * The built agent artifact: what it carries, the Node it runs on (the pinned one, not the machine's), its addons
 * built for that Node, probing and delivering to a real control plane from an empty directory. Then install.sh,
 * staged into a temporary root (`--root`): the files it writes, their modes, the unit systemd would load, the env
 * file, upgrades that keep the token, refusals that write nothing, uninstall. Then the installed binary runs as an
 * unprivileged user holding only CAP_NET_RAW, the way the unit runs it.
 */
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../cli/client.js';
import {
  exec,
  execOk,
  type PingerProcess,
  pingerEnv,
  ROOT,
  spawnPinger,
} from '../../helpers/pinger-process.js';
import { until } from '../../helpers/until.js';
import { startServer } from '../control-plane/server-process.js';
import { ARTIFACT, type BuiltArtifact, buildArtifact } from './build.js';

let built: BuiltArtifact;

beforeAll(async () => {
  built = await buildArtifact();
}, 300_000);

afterAll(async () => {
  if (built) await rm(built.work, { recursive: true, force: true });
});

/** A fresh, empty staging root. */
async function stagingRoot(): Promise<string> {
  const root = join(built.work, `root-${Math.random().toString(36).slice(2)}`);
  await mkdir(root, { mode: 0o755 });
  return root;
}

/** install.sh with a clean environment: no PINGER_* from whoever runs the tests, only those in `env`. */
function install(args: string[], env: Record<string, string> = {}) {
  return exec('bash', [join(built.unpacked, 'install.sh'), ...args], {
    cwd: built.work,
    env: pingerEnv(env),
  });
}

const TOKEN = `pgr_agent_${'A'.repeat(43)}`;

/** The flags of a typical install into the staging root `root`. */
const typical = (root: string) => [
  '--root',
  root,
  '--url',
  'http://127.0.0.1:8080',
  '--token',
  TOKEN,
  '--user',
  'nobody',
];

/** A typical install into `root`, for tests about what comes after it; throws if install.sh fails. */
async function installTypical(root: string): Promise<void> {
  const result = await install(typical(root));
  if (result.code !== 0)
    throw new Error(`install.sh exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;
/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** A new empty directory to run the binary from. */
const emptyDir = () => mkdtemp(join(built.work, 'cwd-'));

/** The native addons the binary loads from its own directory. */
const ADDONS = ['pinger_native.node', 'raw.node'];

/** The binary alone in a new directory with only `addons` of the artifact beside it; returns its path. */
async function binaryWith(addons: string[]): Promise<string> {
  const dir = await emptyDir();
  for (const file of ['pinger-agent', ...addons]) await copyFile(join(built.unpacked, file), join(dir, file));
  await chmod(join(dir, 'pinger-agent'), 0o755);
  return join(dir, 'pinger-agent');
}

describe('the artifact', () => {
  it('unpacks to the binary with its addons beside it, the installer and the unit; its checksum holds', async () => {
    expect((await readdir(built.unpacked)).sort()).toEqual(
      expect.arrayContaining([
        'LICENSE.node',
        'README.md',
        'THIRD_PARTY_LICENSES',
        'agent.env.example',
        'install.sh',
        'pinger-agent',
        'pinger-agent.service',
        'pinger_native.node',
        'raw.node',
      ]),
    );
    for (const addon of ADDONS) expect(await mode(join(built.unpacked, addon)), addon).toBe(0o644);
    expect(await mode(join(built.unpacked, 'pinger-agent'))).toBe(0o755);
    expect(await mode(join(built.unpacked, 'install.sh'))).toBe(0o755);
    const check = await exec('sha256sum', ['--check', `${ARTIFACT}.tar.gz.sha256`], { cwd: built.out });
    expect(check.stdout).toContain(': OK');
    expect(check.code).toBe(0);
  });

  it('carries the agent and not the control plane, SQLite or the AWS SDK', async () => {
    const binary = await readFile(join(built.unpacked, 'pinger-agent'));
    // esbuild marks each bundled module with its path: the bundle is searchable, as the raw-socket hit shows.
    expect(binary.includes('node_modules/raw-socket/')).toBe(true);
    expect(binary.includes('agent/schedule/scheduler.ts')).toBe(true);
    for (const absent of ['node_modules/better-sqlite3/', 'node_modules/@aws-sdk/', 'control-plane/']) {
      expect(binary.includes(absent), absent).toBe(false);
    }
    // What is bundled is credited: each package with its license, and nothing that is not bundled.
    const notices = await readFile(join(built.unpacked, 'THIRD_PARTY_LICENSES'), 'utf8');
    expect(notices).toMatch(/^== undici \S+ \(MIT\) ==\n\nMIT License/m);
    expect(notices).toMatch(/^== raw-socket \S+ \(MIT\) ==$/m);
    expect(notices).not.toContain('better-sqlite3');
  });

  it('prints its version and the Node it runs on, the pinned 24.x, from an empty directory and leaves it empty', async () => {
    const cwd = await emptyDir();
    const result = await exec(join(built.unpacked, 'pinger-agent'), ['--version'], { cwd });
    expect(result).toMatchObject({
      code: 0,
      stdout: `pinger-agent ${built.version} (node ${built.runtime.version})\n`,
      stderr: '',
    });
    // A supported LTS line, whatever the machine that built it runs.
    expect(result.stdout).toMatch(/ \(node v24\.\d+\.\d+\)\n$/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it("ships addons built for the embedded Node's ABI, and leaves the checkout's own builds loadable here", async () => {
    for (const addon of ADDONS) {
      const loaded = await exec(
        built.runtime.node,
        ['-e', 'process.dlopen({ exports: {} }, process.argv[1])', join(built.unpacked, addon)],
        { cwd: await emptyDir() },
      );
      expect({ addon, ...loaded }).toMatchObject({ addon, code: 0, stderr: '' });
    }
    // The build compiled copies: the addons `npm ci` built for the machine's Node (tests, CLI) still load in it.
    const fromRoot = createRequire(join(ROOT, 'package.json'));
    expect(typeof fromRoot('raw-socket').createSocket).toBe('function');
    expect(typeof fromRoot('./agent/native/index.cjs')).toBe('object');
  });

  it('probes 127.0.0.1 from an empty directory: three replies, in order', async () => {
    const cwd = await emptyDir();
    const result = await exec(
      join(built.unpacked, 'pinger-agent'),
      ['probe', '127.0.0.1', '--count', '3', '--interval', '20', '--json'],
      { cwd, timeoutMs: 20_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const probes = lines.filter((line) => !('summary' in line));
    expect(probes.map((p) => [p.status, p.rseq, p.address])).toEqual([
      ['reply', 0, '127.0.0.1'],
      ['reply', 1, '127.0.0.1'],
      ['reply', 2, '127.0.0.1'],
    ]);
    expect(lines.at(-1)).toMatchObject({ summary: { target: '127.0.0.1', sent: 3, received: 3 } });
    expect(await readdir(cwd)).toEqual([]);
  });

  it('reads replies with their kernel arrival time (SO_TIMESTAMPNS through recvmsg), not through raw-socket', async () => {
    // What the binary does is what the kernel sees: strace records every call on the raw socket.
    const trace = join(await emptyDir(), 'strace.log');
    const result = await exec(
      'strace',
      [
        '-f',
        '-qq',
        '-e',
        'trace=setsockopt,recvmsg,recvfrom',
        '-o',
        trace,
        join(built.unpacked, 'pinger-agent'),
        ...['probe', '127.0.0.1', '--count', '2', '--interval', '20', '--json'],
      ],
      { cwd: await emptyDir(), timeoutMs: 30_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"received":2');
    const calls = (await readFile(trace, 'utf8')).split('\n');
    const enabled = calls
      .map((line) => /setsockopt\((\d+), SOL_SOCKET, SO_TIMESTAMPNS(?:_OLD)?, \[1\], 4\) = 0/.exec(line)?.[1])
      .filter((fd) => fd !== undefined);
    expect(enabled).toHaveLength(1);
    const onSocket = calls.filter((line) => new RegExp(`\\b(recvmsg|recvfrom)\\(${enabled[0]},`).test(line));
    const stamped = onSocket.filter((line) =>
      /^\d+ +recvmsg\(.*cmsg_level=SOL_SOCKET, cmsg_type=SO_TIMESTAMPNS(?:_OLD)?, .*\) = \d+$/.test(line),
    );
    // Both replies at least (the raw socket also sees the requests, and any other ICMP on loopback).
    expect(stamped.length).toBeGreaterThanOrEqual(2);
    // raw-socket reads with recvfrom, without the arrival time: the fallback path, which must not be taken.
    expect(onSocket.filter((line) => line.includes('recvfrom('))).toEqual([]);
  });

  it.each(ADDONS)(
    'without %s beside it, starts but refuses to probe, naming the missing file',
    async (missing) => {
      const binary = await binaryWith(ADDONS.filter((file) => file !== missing));
      const alone = dirname(binary);
      // The addons load only when a command needs raw sockets.
      expect((await exec(binary, ['--version'], { cwd: alone })).code).toBe(0);
      const result = await exec(binary, ['probe', '127.0.0.1', '--count', '1'], {
        cwd: alone,
        timeoutMs: 20_000,
      });
      expect(result.code).not.toBe(0);
      // One line for the operator (no stack): which addon, where it was looked for, and why it was not loaded.
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/^pinger-agent: \[agent\] cannot load the .+ addon \(.+\) /),
      ]);
      expect(result.stderr).toContain(`${join(alone, missing)}: it must sit beside the pinger-agent binary`);
      expect(result.stderr).toContain('No such file');
      expect(result.stdout).toBe('');
    },
  );
});

describe('the binary as an agent', () => {
  it('runs from an empty directory against a real pinger serve; every probe it sent is stored once', async () => {
    const adminToken = `pgr_admin_${randomBytes(32).toString('base64url')}`;
    const server = await startServer({ dbPath: join(built.work, 'control-plane.db'), adminToken });
    let agent: PingerProcess | undefined;
    try {
      const api = new ApiClient({ url: server.url, token: adminToken });
      const source = await api.createSource({ name: 'artifact' });
      const destination = await api.createDestination({
        address: '127.0.0.1',
        interval: 100,
        sources: [source.id],
      });
      const cwd = await emptyDir();
      agent = spawnPinger(['agent', '--url', server.url, '--spool', join(built.work, 'spool')], {
        command: join(built.unpacked, 'pinger-agent'),
        cwd,
        // Errors only: a loaded CI may make it warn about late ticks, which is not what this test is about.
        env: { PINGER_TOKEN: source.token, PINGER_LOG_LEVEL: 'error' },
      });

      const stored = async () => (await api.resultPage({ destination: destination.id }, 1000)).results;
      const running = agent;
      await until(
        () => `five replies stored:\n${running.output().stderr}`,
        async () => {
          if (running.child.exitCode !== null) throw new Error(`agent exited:\n${running.output().stderr}`);
          return (await stored()).filter((r) => r.status === 'reply').length >= 5;
        },
        20_000,
        100,
      );

      const { code, signal } = await agent.stop('SIGTERM', 10_000);
      expect({ code, signal, stderr: agent.output().stderr }).toEqual({ code: 0, signal: null, stderr: '' });

      // The agent flushed before it exited: what it probed is stored, each sequence number once, no gaps.
      const results = await stored();
      expect(results.every((r) => r.source === source.id && r.target === '127.0.0.1')).toBe(true);
      expect(results.every((r) => r.status === 'reply' && r.address === '127.0.0.1')).toBe(true);
      const seqs = results.map((r) => r.rseq).sort((a, b) => a - b);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
      expect(await readdir(cwd)).toEqual([]);
    } finally {
      agent?.kill('SIGKILL');
      await server.stop();
    }
  });
});

describe('install.sh into a staging root', () => {
  it('installs the binary with its addons beside it, a root-only env file and the hardened unit', async () => {
    const root = await stagingRoot();
    const result = await install(typical(root));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await tree(root)).toEqual([
      'etc/pinger/agent.env',
      'etc/systemd/system/pinger-agent.service',
      'opt/pinger/bin/pinger-agent',
      'opt/pinger/bin/pinger_native.node',
      'opt/pinger/bin/raw.node',
    ]);
    expect(await mode(join(root, 'opt/pinger/bin/pinger-agent'))).toBe(0o755);
    for (const addon of ADDONS) {
      const installed = join(root, 'opt/pinger/bin', addon);
      expect(await mode(installed), addon).toBe(0o644);
      expect((await readFile(installed)).equals(await readFile(join(built.unpacked, addon))), addon).toBe(
        true,
      );
    }
    expect(await mode(join(root, 'etc/pinger/agent.env'))).toBe(0o600);
    expect(await mode(join(root, 'etc/systemd/system/pinger-agent.service'))).toBe(0o644);
    expect(await readFile(join(root, 'etc/pinger/agent.env'), 'utf8')).toMatch(
      new RegExp(`\nPINGER_URL=http://127\\.0\\.0\\.1:8080\nPINGER_TOKEN=${TOKEN}\n$`),
    );
    // The binary is the built one, byte for byte (Buffer.equals: a deep equal of 80 MB takes minutes).
    const installed = await readFile(join(root, 'opt/pinger/bin/pinger-agent'));
    expect(installed.equals(await readFile(join(built.unpacked, 'pinger-agent')))).toBe(true);

    const unit = await readFile(join(root, 'etc/systemd/system/pinger-agent.service'), 'utf8');
    const directives = unit.split('\n').filter((line) => /^[A-Z]\w*=/.test(line));
    expect(directives).toEqual(
      expect.arrayContaining([
        'User=nobody',
        'Group=nogroup',
        'EnvironmentFile=/etc/pinger/agent.env',
        'ExecStart=/opt/pinger/bin/pinger-agent agent --spool /var/lib/pinger/spool',
        'AmbientCapabilities=CAP_NET_RAW',
        'CapabilityBoundingSet=CAP_NET_RAW',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'StateDirectory=pinger',
        'Restart=always',
        'WantedBy=multi-user.target',
      ]),
    );
    expect(unit).not.toMatch(/@[A-Z_]+@/);
    // Staged, so systemd was not touched; it says how to start on the target instead.
    expect(result.stdout).toContain('systemctl enable --now pinger-agent.service');
  });

  it('writes a unit that systemd itself accepts', async () => {
    const root = await stagingRoot();
    await installTypical(root);
    // systemd-analyze resolves the unit's dependencies inside --root: give it the distribution's units.
    await mkdir(join(root, 'usr/lib/systemd'), { recursive: true });
    await execOk('cp', ['-r', '/usr/lib/systemd/system', join(root, 'usr/lib/systemd/')]);
    const verify = await exec('systemd-analyze', [
      'verify',
      `--root=${root}`,
      '/etc/systemd/system/pinger-agent.service',
    ]);
    // The one complaint allowed is about the test's choice of user (`nobody`), not about the unit.
    const complaints = verify.stderr
      .split('\n')
      .filter((line) => line && !line.includes('Special user nobody'));
    expect(complaints).toEqual([]);
    expect(verify.code).toBe(0);
  });

  it('keeps the env file on upgrade and replaces only what is given', async () => {
    const root = await stagingRoot();
    const envFile = join(root, 'etc/pinger/agent.env');
    await installTypical(root);
    const first = await readFile(envFile, 'utf8');

    expect((await install(['--root', root, '--user', 'nobody'])).code).toBe(0);
    expect(await readFile(envFile, 'utf8')).toBe(first);

    const newToken = `pgr_agent_${'B'.repeat(43)}`;
    expect((await install(['--root', root, '--user', 'nobody', `--token=${newToken}`])).code).toBe(0);
    const updated = await readFile(envFile, 'utf8');
    expect(updated).toContain(`PINGER_TOKEN=${newToken}\n`);
    expect(updated).toContain('PINGER_URL=http://127.0.0.1:8080\n');
    expect(updated).not.toContain(TOKEN);
    expect(await mode(envFile)).toBe(0o600);
  });

  it('takes the token from PINGER_TOKEN, honours --prefix, and installs no unit with --no-systemd', async () => {
    const root = await stagingRoot();
    const result = await install(
      [
        '--root',
        root,
        '--url',
        'http://[::1]:8080',
        '--prefix',
        '/usr/local/pinger',
        '--user',
        'nobody',
        '--no-systemd',
      ],
      { PINGER_TOKEN: TOKEN },
    );
    expect(result.code).toBe(0);
    expect(await tree(root)).toEqual([
      'etc/pinger/agent.env',
      'usr/local/pinger/bin/pinger-agent',
      'usr/local/pinger/bin/pinger_native.node',
      'usr/local/pinger/bin/raw.node',
    ]);
    expect(await readFile(join(root, 'etc/pinger/agent.env'), 'utf8')).toContain(`PINGER_TOKEN=${TOKEN}\n`);
    expect(result.stdout).toContain('setpriv --reuid=nobody --regid=nogroup');
    expect(result.stdout).toContain('/usr/local/pinger/bin/pinger-agent agent');
  });

  it.each([
    [['--token', TOKEN], /--url is required/],
    [['--url', 'http://127.0.0.1:8080'], /--token is required/],
    [['--url', 'ftp://127.0.0.1', '--token', TOKEN], /--url must be an http:\/\/ or https:\/\/ URL/],
    [['--url', 'http://127.0.0.1:8080', '--token', 'two words'], /--token must be the agent token/],
    [
      ['--url', 'http://127.0.0.1:8080', '--token', TOKEN, '--prefix', 'opt/pinger'],
      /--prefix must be an absolute path/,
    ],
    [
      ['--url', 'http://127.0.0.1:8080', '--token', TOKEN, '--user', 'Bad User'],
      /--user must be a system user name/,
    ],
    [['--url'], /--url needs a value/],
    [['--frobnicate'], /unknown option --frobnicate/],
  ])('refuses %j with a clear message and writes nothing', async (args, message) => {
    const root = await stagingRoot();
    const result = await install(['--root', root, '--user', 'nobody', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(await tree(root)).toEqual([]);
  });

  it.each(ADDONS)('refuses an archive without %s, naming it, and writes nothing', async (missing) => {
    const archive = await emptyDir();
    for (const file of await readdir(built.unpacked)) {
      if (file !== missing) await link(join(built.unpacked, file), join(archive, file));
    }
    const root = await stagingRoot();
    const result = await exec('bash', [join(archive, 'install.sh'), ...typical(root)], {
      cwd: built.work,
      env: pingerEnv(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(archive, missing)} is missing`);
    expect(await tree(root)).toEqual([]);
  });

  it('uninstalls the binary and the unit, keeping the token and the spool', async () => {
    const root = await stagingRoot();
    await installTypical(root);
    const result = await install(['--root', root, '--uninstall']);
    expect(result.code).toBe(0);
    expect(await tree(root)).toEqual(['etc/pinger/agent.env']);
    expect(result.stdout).toContain('Kept /etc/pinger/agent.env');
  });
});

describe('the installed binary', () => {
  it('runs as an unprivileged user with only CAP_NET_RAW, as the unit runs it', async () => {
    const root = await stagingRoot();
    await installTypical(root);
    const binary = join(root, 'opt/pinger/bin/pinger-agent');
    const asNobody = ['--reuid=nobody', '--regid=nogroup', '--init-groups'];
    const withCap = await exec(
      'setpriv',
      [
        ...asNobody,
        '--inh-caps=+net_raw',
        '--ambient-caps=+net_raw',
        binary,
        'probe',
        '127.0.0.1',
        '--count',
        '1',
        '--json',
      ],
      { cwd: '/', timeoutMs: 20_000 },
    );
    expect(withCap.stderr).toBe('');
    expect(withCap.code).toBe(0);
    expect(withCap.stdout).toContain('"status":"reply"');
    // Without the capability the raw socket is refused: the capability is what makes it work.
    const without = await exec(
      'setpriv',
      [...asNobody, binary, 'probe', '127.0.0.1', '--count', '1', '--json'],
      {
        cwd: '/',
        timeoutMs: 20_000,
      },
    );
    expect(without.code).not.toBe(0);
  });
});
