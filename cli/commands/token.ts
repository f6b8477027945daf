/**
 * `pinger token …`: read-only API tokens for dashboards and exports. A token is shown once, when made; after
 * that it is known by its id (the start of its hash). Agent tokens are listed too, but belong to their source
 * (`pinger source rotate-token`).
 */
import type { Command } from 'commander';
import type { Token } from '../../contract/index.js';
import { type ApiOptions, apiAction, type Io } from '../api-command.js';
import { type Column, details, orEmpty, table } from '../format.js';

interface AddOptions extends ApiOptions {
  name: string;
}

const columns: Column<Token>[] = [
  { heading: 'ID', cell: (t) => t.id },
  { heading: 'KIND', cell: (t) => t.kind },
  { heading: 'NAME', cell: (t) => t.name },
  { heading: 'SOURCE', cell: (t) => orEmpty(t.sourceId) },
  { heading: 'CREATED', cell: (t) => t.createdAt },
];

/** Registers `pinger token add|list|rm`. */
export function register(program: Command, io: Io): void {
  const token = program.command('token').description('manage read-only API tokens');

  const add = token
    .command('add')
    .description('make a read-only token (results and listings, no changes); prints it this once')
    .requiredOption('--name <name>', 'what the token is for (1–64 characters)');
  apiAction<AddOptions>(add, io, async (ctx, _args, o) => {
    const made = await ctx.client.createReadToken(o.name);
    ctx.print(made, () =>
      details([
        ['id', made.id],
        ['name', made.name],
        ['kind', made.kind],
        ['token', made.token],
      ]),
    );
    ctx.note(`the token above is shown only this once; \`pinger token rm ${made.id}\` revokes it.`);
  });

  apiAction(
    token.command('list').description('list read-only and agent tokens (never the secrets)'),
    io,
    async (ctx) => {
      const tokens = await ctx.client.listTokens();
      ctx.print(tokens, () => (tokens.length === 0 ? 'no tokens' : table(columns, tokens)));
    },
  );

  const rm = token.command('rm <id>').description('revoke a read-only token by its id (see token list)');
  apiAction(rm, io, async (ctx, [id]) => {
    await ctx.client.deleteToken(id!);
    ctx.print({ id, deleted: true }, () => `deleted token ${id}`);
  });
}
