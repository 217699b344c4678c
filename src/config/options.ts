/**
 * The one option table of `s3local serve` (DESIGN §2): each option's flag, env var, backends.toml
 * key, default and help feed commander, the environment, saved backend configs and the docs.
 * Precedence, the same for every option: flag > env > backend config > default.
 */
import { DEFAULT_LIMITS } from '../server/limits.js';
import { LOG_FORMATS, LOG_LEVELS } from '../server/logger.js';

export type OptionType = 'string' | 'boolean' | 'integer' | 'duration';

export interface OptionSpec {
  /** Property name in ServeOptions. */
  name: keyof ServeOptions;
  /** Long flag, e.g. `--path <dir>` or `--no-auth`. */
  flag: string;
  /** Environment variable(s); the first that is set wins. */
  env: string[];
  /** Key in a backends.toml table, when a saved backend may set it. */
  configKey?: string;
  type: OptionType;
  /** Default value (undefined: none; computed defaults are resolved elsewhere). */
  default?: string | boolean | number;
  /** Allowed values for a string option. */
  choices?: readonly string[];
  /** A secret: never printed in full, obscured in backends.toml. */
  secret?: boolean;
  help: string;
}

/** Resolved options of `s3local serve`. */
export interface ServeOptions {
  path?: string;
  listen: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  region: string;
  noAuth: boolean;
  noSigv2: boolean;
  debug: boolean;
  backend: 'local' | 'drime';
  backendConfig?: string;
  rootFolder?: string;
  allowBucketCreation: boolean;
  domain?: string;
  drimeApiKey?: string;
  drimeWorkspaceId?: number;
  drimeApiUrl?: string;
  drimeDelete: 'trash' | 'permanent';
  tlsCert?: string;
  tlsKey?: string;
  metricsPublic: boolean;
  logFormat: 'text' | 'json';
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  maxConnections: number;
  /** ms */
  headersTimeout?: number;
  /** ms */
  idleTimeout?: number;
  maxHeaderSize: number;
  /** ms; abandoned multipart uploads are removed after this (default 7 days, 0 = never). */
  multipartExpiry?: number;
}

/** The table. Order is the order of `--help`. */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'path',
    flag: '--path <dir>',
    env: ['S3LOCAL_PATH'],
    configKey: 'path',
    type: 'string',
    help: 'data directory of the local backend (default: a persistent per-user directory)',
  },
  {
    name: 'listen',
    flag: '--listen <addr>',
    env: ['S3LOCAL_LISTEN'],
    type: 'string',
    default: ':10001',
    help: 'listen address: :PORT, HOST:PORT or [IPv6]:PORT',
  },
  {
    name: 'accessKeyId',
    flag: '--access-key-id <id>',
    env: ['S3LOCAL_ACCESS_KEY_ID'],
    configKey: 'access_key_id',
    type: 'string',
    help: 'the accepted access key id (default: generated on first start and saved)',
  },
  {
    name: 'secretAccessKey',
    flag: '--secret-access-key <secret>',
    env: ['S3LOCAL_SECRET_ACCESS_KEY'],
    configKey: 'secret_access_key',
    type: 'string',
    secret: true,
    help: 'the matching secret (prefer the env var: a flag shows in the process list)',
  },
  {
    name: 'region',
    flag: '--region <region>',
    env: ['S3LOCAL_REGION'],
    configKey: 'region',
    type: 'string',
    default: 'us-east-1',
    help: 'region that signatures must be scoped to',
  },
  {
    name: 'noAuth',
    flag: '--no-auth',
    env: ['S3LOCAL_NO_AUTH'],
    type: 'boolean',
    default: false,
    help: 'disable authentication (any client is accepted)',
  },
  {
    name: 'noSigv2',
    flag: '--no-sigv2',
    env: ['S3LOCAL_NO_SIGV2'],
    type: 'boolean',
    default: false,
    help: 'refuse the legacy Signature Version 2',
  },
  {
    name: 'debug',
    flag: '--debug',
    env: ['S3LOCAL_DEBUG'],
    type: 'boolean',
    default: false,
    help: 'verbose logging (never logs secrets)',
  },
  {
    name: 'backend',
    flag: '--backend <type>',
    env: ['S3LOCAL_BACKEND'],
    configKey: 'type',
    type: 'string',
    default: 'local',
    choices: ['local', 'drime'],
    help: 'storage backend',
  },
  {
    name: 'backendConfig',
    flag: '--backend-config <name>',
    env: ['S3LOCAL_BACKEND_CONFIG'],
    type: 'string',
    help: 'use a backend saved in backends.toml (see `s3local config`)',
  },
  {
    name: 'rootFolder',
    flag: '--root-folder <path>',
    env: ['S3LOCAL_ROOT_FOLDER'],
    configKey: 'root_folder',
    type: 'string',
    help: 'Drime: the folder that becomes the S3 root',
  },
  {
    name: 'allowBucketCreation',
    flag: '--allow-bucket-creation',
    env: ['S3LOCAL_ALLOW_BUCKET_CREATION'],
    configKey: 'allow_bucket_creation',
    type: 'boolean',
    default: false,
    help: "advanced mode: real buckets instead of the single 'default' bucket",
  },
  {
    name: 'domain',
    flag: '--domain <domain>',
    env: ['S3LOCAL_DOMAIN'],
    configKey: 'domain',
    type: 'string',
    help: 'base domain for virtual-host style requests (BUCKET.DOMAIN); path style always works',
  },
  {
    name: 'drimeApiKey',
    flag: '--drime-api-key <key>',
    env: ['S3LOCAL_DRIME_API_KEY', 'DRIME_API_KEY'],
    configKey: 'api_key',
    type: 'string',
    secret: true,
    help: 'Drime: API token (prefer DRIME_API_KEY)',
  },
  {
    name: 'drimeWorkspaceId',
    flag: '--drime-workspace-id <id>',
    env: ['S3LOCAL_DRIME_WORKSPACE_ID', 'DRIME_WORKSPACE_ID'],
    configKey: 'workspace_id',
    type: 'integer',
    help: 'Drime: workspace id (0 = personal)',
  },
  {
    name: 'drimeApiUrl',
    flag: '--drime-api-url <url>',
    env: ['S3LOCAL_DRIME_API_URL', 'DRIME_API_URL'],
    configKey: 'api_url',
    type: 'string',
    help: 'Drime: API base URL',
  },
  {
    name: 'drimeDelete',
    flag: '--drime-delete <mode>',
    env: ['S3LOCAL_DRIME_DELETE'],
    configKey: 'delete_mode',
    type: 'string',
    default: 'trash',
    choices: ['trash', 'permanent'],
    help: "Drime: what DeleteObject does: 'trash' (recoverable, still counts towards the quota) or 'permanent'",
  },
  // ---- running it as a service (docs/operations.md) ----
  {
    name: 'tlsCert',
    flag: '--tls-cert <file>',
    env: ['S3LOCAL_TLS_CERT'],
    type: 'string',
    help: 'serve HTTPS with this PEM certificate (chain, leaf first); re-read on SIGHUP',
  },
  {
    name: 'tlsKey',
    flag: '--tls-key <file>',
    env: ['S3LOCAL_TLS_KEY'],
    type: 'string',
    help: 'the PEM private key of --tls-cert; re-read on SIGHUP',
  },
  {
    name: 'metricsPublic',
    flag: '--metrics-public',
    env: ['S3LOCAL_METRICS_PUBLIC'],
    type: 'boolean',
    default: false,
    help: 'serve /_s3local/metrics without credentials (default: the S3 credentials, signed or HTTP Basic)',
  },
  {
    name: 'logFormat',
    flag: '--log-format <format>',
    env: ['S3LOCAL_LOG_FORMAT'],
    type: 'string',
    default: 'text',
    choices: LOG_FORMATS,
    help: 'log lines on stderr: text (readable) or json (one object per line)',
  },
  {
    name: 'logLevel',
    flag: '--log-level <level>',
    env: ['S3LOCAL_LOG_LEVEL'],
    type: 'string',
    default: 'info',
    choices: LOG_LEVELS,
    help: 'least severe level logged; the access log is info (--debug means debug)',
  },
  {
    name: 'maxConnections',
    flag: '--max-connections <n>',
    env: ['S3LOCAL_MAX_CONNECTIONS'],
    type: 'integer',
    default: DEFAULT_LIMITS.maxConnections,
    help: 'open connections served at once; requests on more get 503 SlowDown',
  },
  {
    name: 'headersTimeout',
    flag: '--headers-timeout <duration>',
    env: ['S3LOCAL_HEADERS_TIMEOUT'],
    type: 'duration',
    help: "time for a request's headers to arrive in full (slow clients are cut; default 60s)",
  },
  {
    name: 'idleTimeout',
    flag: '--idle-timeout <duration>',
    env: ['S3LOCAL_IDLE_TIMEOUT'],
    type: 'duration',
    help: 'an upload that sends no byte for this long is cut; steady uploads never are (default 120s, 0 = never)',
  },
  {
    name: 'maxHeaderSize',
    flag: '--max-header-size <bytes>',
    env: ['S3LOCAL_MAX_HEADER_SIZE'],
    type: 'integer',
    default: DEFAULT_LIMITS.maxHeaderSize,
    help: 'largest request line and headers, in bytes',
  },
  {
    name: 'multipartExpiry',
    flag: '--multipart-expiry <duration>',
    env: ['S3LOCAL_MULTIPART_EXPIRY'],
    configKey: 'multipart_expiry',
    type: 'duration',
    help: 'multipart uploads neither completed nor aborted are removed after this long (default 168h = 7 days, 0 = never)',
  },
];
