/**
 * The Lambda refuses to start without what it needs, naming the setting, rather than answering 500s later.
 * (Starting from SST links is covered by handler.test.ts and the infra test: the `sst` SDK reads its variables
 * once per process, so this file stays without links.)
 */
import { describe, expect, it, vi } from 'vitest';

const boot = async (env: Record<string, string | undefined>) => {
  for (const key of Object.keys(process.env)) if (key.startsWith('SST_RESOURCE_')) delete process.env[key];
  delete process.env.PINGER_TABLE;
  delete process.env.PINGER_ADMIN_TOKEN;
  delete process.env.PINGER_RETENTION;
  Object.assign(process.env, { AWS_REGION: 'eu-west-1', PINGER_LOG_LEVEL: 'silent' }, env);
  vi.resetModules();
  return import('../../../control-plane/lambda.js');
};

describe('lambda entry configuration', () => {
  it('names the missing table', async () => {
    await expect(boot({ PINGER_ADMIN_TOKEN: 'x'.repeat(40) })).rejects.toThrow(
      /^\[lambda\] no table: link PingerTable/,
    );
  });

  it('refuses a missing or short admin token', async () => {
    await expect(boot({ PINGER_TABLE: 't' })).rejects.toMatchObject({ name: 'LambdaConfigError' });
    await expect(boot({ PINGER_TABLE: 't', PINGER_ADMIN_TOKEN: 'short' })).rejects.toThrow(
      /at least 32 characters/,
    );
  });

  it('refuses a retention setting that breaks its rules, naming the variable', async () => {
    await expect(
      boot({ PINGER_TABLE: 't', PINGER_ADMIN_TOKEN: 'x'.repeat(40), PINGER_RETENTION: 'raw=1h' }),
    ).rejects.toThrow(/^\[lambda\] PINGER_RETENTION: raw must be a duration of at least 1d/);
    await expect(
      boot({ PINGER_TABLE: 't', PINGER_ADMIN_TOKEN: 'x'.repeat(40), PINGER_RETENTION: 'raw=30d' }),
    ).resolves.toHaveProperty('handler');
  });
});
