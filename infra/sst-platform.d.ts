/**
 * The few SST v3 globals that `sst.config.ts` and `infra/` use, typed for `tsc`. SST writes the complete
 * declarations to `.sst/platform/config.d.ts` when its CLI first runs (it downloads its Pulumi engine then, which
 * CI cannot); the shapes here are the subset of those, so the config checks without them.
 */

interface SstAppInput {
  stage?: string;
}

interface SstApp {
  name: string;
  removal?: 'remove' | 'retain' | 'retain-all';
  protect?: boolean;
  home: 'aws' | 'cloudflare' | 'local';
  providers?: Record<string, unknown>;
}

interface SstConfig {
  app(input?: SstAppInput): SstApp;
  run(): Promise<Record<string, unknown> | undefined>;
}

/** Declares the app; SST evaluates it. */
declare function $config<T extends SstConfig>(config: T): T;

/** The app being deployed (available inside `run()` and the modules it imports). */
declare const $app: { readonly name: string; readonly stage: string };

declare namespace sst {
  /** An encrypted value set with `sst secret set <name> <value>`, readable by what it is linked to. */
  class Secret {
    constructor(name: string, placeholder?: string);
    readonly name: string;
    readonly value: unknown;
  }

  namespace aws {
    interface DynamoArgs {
      fields: Record<string, 'string' | 'number' | 'binary'>;
      primaryIndex: { hashKey: string; rangeKey?: string };
      globalIndexes?: Record<
        string,
        { hashKey: string; rangeKey?: string; projection?: 'all' | 'keys-only' | string[] }
      >;
      ttl?: string;
      transform?: { table?: (args: Record<string, unknown>) => void };
    }

    class Dynamo {
      constructor(name: string, args: DynamoArgs);
      readonly name: unknown;
      readonly arn: unknown;
    }

    interface FunctionArgs {
      handler: string;
      runtime?: 'nodejs20.x' | 'nodejs22.x' | 'nodejs24.x';
      architecture?: 'x86_64' | 'arm64';
      timeout?: `${number} ${'second' | 'seconds' | 'minute' | 'minutes'}`;
      memory?: `${number} MB` | `${number} GB`;
      url?: boolean | { authorization?: 'none' | 'iam'; cors?: boolean | Record<string, unknown> };
      /** Resources the function may use (permissions granted, values readable through `Resource`). */
      link?: object[];
      environment?: Record<string, string>;
      logging?: { retention?: string; format?: 'text' | 'json' };
      nodejs?: { install?: string[]; format?: 'esm' | 'cjs'; esbuild?: { external?: string[] } };
      /** Files copied into the function's package; `to` is relative to its root (the task root). */
      copyFiles?: { from: string; to?: string }[];
    }

    interface CronArgs {
      /** `rate(5 minutes)` or `cron(...)`, as EventBridge takes it. */
      schedule: string;
      /** The function to run: a handler, or the arguments of a Function. */
      function: string | FunctionArgs;
    }

    /** A schedule that invokes a function. */
    class Cron {
      constructor(name: string, args: CronArgs);
    }

    // biome-ignore lint/suspicious/noShadowRestrictedNames: SST's own name for the component.
    class Function {
      constructor(name: string, args: FunctionArgs);
      readonly url: unknown;
      readonly name: unknown;
      readonly arn: unknown;
    }
  }
}
