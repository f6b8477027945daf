/**
 * The operator's admin token, set once per stage with `npx sst secret set PingerAdminToken <token>`. The
 * function gets it through the link and keeps only its SHA-256 in memory.
 */
export const adminToken = new sst.Secret('PingerAdminToken');
