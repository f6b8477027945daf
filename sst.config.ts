/**
 * Deploys the control plane to AWS with SST v3: one DynamoDB table, the admin token as a secret, the Lambda
 * function behind a Function URL, and the rollups' maintenance on a schedule (see infra/, one file per resource). `npx sst deploy --stage production`
 * prints the URL agents point at. The production stage is retained when the app is removed; other stages go.
 */
export default $config({
  app(input) {
    return {
      name: 'pinger',
      removal: input?.stage === 'production' ? 'retain' : 'remove',
      protect: input?.stage === 'production',
      home: 'aws',
    };
  },
  async run() {
    // Imported here: SST's globals exist only once run() is called.
    const { table } = await import('./infra/table.js');
    await import('./infra/secret.js');
    const { api } = await import('./infra/api.js');
    await import('./infra/maintenance.js');
    return { url: api.url, table: table.name };
  },
});
