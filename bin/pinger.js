#!/usr/bin/env node
// The `pinger` command from a clone: runs the TypeScript sources through tsx, so there is no build step to forget.
// The installable agent is a bundled single executable instead (npm run build:agent).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
