/**
 * Lambda events shaped like the real ones (payload format 2.0): an API Gateway HTTP API event and a Lambda
 * Function URL event, which differ in their request context. Bodies that are not text arrive base64-encoded,
 * as both services deliver them.
 */
import { randomUUID } from 'node:crypto';

export type EventKind = 'api-gateway-v2' | 'function-url';

export interface HttpRequest {
  method: string;
  /** Path and query, e.g. `/v1/agent/config?wait=20`. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** Both services join repeated headers with commas and lowercase their names. */
function lowercase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Text is passed as is; anything else (gzip, octet-stream) is base64, like API Gateway and Function URLs do. */
function isText(headers: Record<string, string>): boolean {
  if (headers['content-encoding'] && headers['content-encoding'] !== 'identity') return false;
  const type = headers['content-type'] ?? '';
  return type === '' || /^(text\/|application\/(json|x-www-form-urlencoded|xml))/.test(type);
}

/** A payload-format-2.0 event as `kind` delivers `request`. */
export function lambdaEvent(kind: EventKind, request: HttpRequest) {
  const url = new URL(request.url, 'https://placeholder.invalid');
  const headers = lowercase({ 'user-agent': 'pinger-test', ...(request.headers ?? {}) });
  const now = new Date();
  const id = kind === 'function-url' ? 'abcdefghij0123456789klmnop' : 'a1b2c3d4e5';
  const domainName =
    kind === 'function-url'
      ? `${id}.lambda-url.eu-west-1.on.aws`
      : `${id}.execute-api.eu-west-1.amazonaws.com`;
  headers.host = domainName;
  headers['x-forwarded-proto'] = 'https';
  headers['x-amzn-trace-id'] =
    `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const bytes = typeof request.body === 'string' ? new TextEncoder().encode(request.body) : request.body;
  const text = isText(headers);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: kind === 'function-url' ? 'anonymous' : '123456789012',
      apiId: id,
      domainName,
      domainPrefix: id,
      http: {
        method: request.method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: headers['user-agent']!,
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(bytes === undefined
      ? { isBase64Encoded: false }
      : text
        ? { body: new TextDecoder().decode(bytes), isBase64Encoded: false }
        : { body: Buffer.from(bytes).toString('base64'), isBase64Encoded: true }),
  };
}

/** The context object Lambda passes beside the event. */
export function lambdaContext() {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'pinger-test-PingerApi',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:pinger-test-PingerApi',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/pinger-test-PingerApi',
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
}

/** What a payload-format-2.0 Lambda returns. */
export interface LambdaResult {
  statusCode: number;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
}

/** The body of a result as bytes. */
export function resultBody(result: LambdaResult): Buffer {
  return Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
}
