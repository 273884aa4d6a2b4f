// The JSON Schema of environment.yaml. This object is the single source: validation compiles
// it, and `npm run build` writes it to workflows-lib/schema/environment.schema.json for editors.
// Semantic rules that a schema cannot say (ids above participants, quorum-safe sizes, one chart
// source, hosts, Kubernetes label rules) live in validate.ts. Every string has a maximum length.
import { DURATION_PATTERN } from './duration.js'

export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
export const NO_CONTROL = '^[^\\u0000-\\u001f\\u007f]*$'
export const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$'
export const METADATA_KEY = '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$'
export const SERVICE_NAME_PATTERN = '^([a-z]|\\{release\\})([-a-z0-9]|\\{ordinal\\}|\\{release\\})*$'
export const VERSION = '^[A-Za-z0-9][-A-Za-z0-9_.+]*$'

const text = (maxLength: number, description?: string) =>
  ({ type: 'string', maxLength, pattern: NO_CONTROL, ...(description ? { description } : {}) }) as const
// Fields with a semantic rule of their own (validate.ts) get only a length here, so the message names that rule.
const bounded = (maxLength: number, description?: string) => ({ type: 'string', maxLength, ...(description ? { description } : {}) }) as const
const duration = (description: string) => ({ type: 'string', pattern: DURATION_PATTERN, description }) as const

// Keys are checked against Kubernetes' rules again in validate.ts, with a message per rule.
const labelMap = {
  type: 'object',
  maxProperties: 64,
  propertyNames: { maxLength: 317, pattern: METADATA_KEY },
  additionalProperties: { type: 'string', maxLength: 63, pattern: LABEL_VALUE }
} as const
const annotationMap = {
  type: 'object',
  maxProperties: 64,
  propertyNames: { maxLength: 317, pattern: METADATA_KEY },
  additionalProperties: text(4096)
} as const

const port = { type: 'integer', minimum: 1, maximum: 65535 } as const

const sshEndpoint = {
  type: 'object',
  additionalProperties: false,
  required: ['host'],
  properties: {
    host: bounded(253, 'Hostname or IP address.'),
    user: bounded(32),
    port
  }
} as const

export const environmentSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/zk-rollout/zk-rollout/workflows-lib/schema/environment.schema.json',
  title: 'zk-rollout environment',
  description: 'One environment: a ZooKeeper ensemble on Kubernetes and its observers on VMs.',
  type: 'object',
  additionalProperties: false,
  required: ['kubernetes', 'ensemble'],
  properties: {
    kubernetes: {
      type: 'object',
      additionalProperties: false,
      required: ['namespace', 'release'],
      properties: {
        namespace: { type: 'string', maxLength: 63, pattern: DNS_LABEL, description: 'Namespace of the release.' },
        release: { type: 'string', pattern: DNS_LABEL, maxLength: 53, description: 'Helm release name.' },
        statefulSet: {
          type: 'string',
          maxLength: 63,
          pattern: DNS_LABEL,
          description: 'StatefulSet name, when a non-bundled chart names it differently from <release>-zookeeper.'
        },
        clusterDomain: { type: 'string', maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', default: 'cluster.local' }
      }
    },
    chart: {
      type: 'object',
      additionalProperties: false,
      description: 'Exactly one of bundled, repo, oci or path. Default: the bundled chart.',
      properties: {
        bundled: { type: 'boolean' },
        repo: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'name', 'version'],
          properties: {
            url: { type: 'string', maxLength: 2048, pattern: '^https?://[^\\s\\u0000-\\u001f\\u007f]+$' },
            name: { type: 'string', maxLength: 253, pattern: '^[A-Za-z0-9][-A-Za-z0-9_.]*$' },
            version: { type: 'string', maxLength: 128, pattern: VERSION }
          }
        },
        oci: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'version'],
          properties: {
            url: { type: 'string', maxLength: 2048, pattern: '^oci://[^\\s\\u0000-\\u001f\\u007f]+$' },
            version: { type: 'string', maxLength: 128, pattern: VERSION }
          }
        },
        path: bounded(1024, 'A chart directory, relative to the repository root.'),
        values: bounded(1024, 'Helm values file, relative to the environment directory.')
      }
    },
    ensemble: {
      type: 'object',
      additionalProperties: false,
      required: ['servers'],
      properties: {
        servers: { type: 'integer', minimum: 1, maximum: 99 },
        allowUnsafeSize: {
          type: 'boolean',
          description: 'Allow an even or smaller-than-3 server count (no better fault tolerance than one server fewer).'
        }
      }
    },
    expose: {
      type: 'object',
      additionalProperties: false,
      properties: {
        serviceName: {
          type: 'string',
          maxLength: 100,
          pattern: SERVICE_NAME_PATTERN,
          description: 'Name pattern of the per-pod LoadBalancer Services; must contain {ordinal}.'
        },
        cloud: {
          enum: ['none', 'tke', 'aws', 'gke', 'azure'],
          description: "Adds the provider's internal-LoadBalancer annotations."
        },
        subnet: {
          type: 'string',
          maxLength: 255,
          pattern: '^[A-Za-z0-9][-A-Za-z0-9_./]*$',
          description: 'Internal subnet (TKE: required; Azure: optional).'
        },
        addressKind: { enum: ['ip', 'hostname'], description: 'What the LoadBalancer reports: an IP, or a hostname (AWS).' },
        annotations: annotationMap
      }
    },
    observers: {
      type: 'object',
      additionalProperties: false,
      required: ['hosts'],
      properties: {
        image: bounded(255, 'Official zookeeper image, pinned: same version as the ensemble.'),
        metrics: { enum: ['native', 'exporter'] },
        metricsPort: port,
        clientPort: port,
        directory: bounded(1024, 'Absolute directory on the VM for zoo.cfg, myid and docker-compose.yaml.'),
        ssh: {
          type: 'object',
          additionalProperties: false,
          properties: {
            user: bounded(32),
            port,
            jumpHost: sshEndpoint
          }
        },
        tuning: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tickTime: { type: 'integer', minimum: 100, maximum: 60000 },
            initLimit: { type: 'integer', minimum: 1, maximum: 1000 },
            syncLimit: { type: 'integer', minimum: 1, maximum: 1000 },
            maxClientCnxns: { type: 'integer', minimum: 0, maximum: 100000 }
          }
        },
        hosts: {
          type: 'array',
          minItems: 1,
          maxItems: 100,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'host'],
            properties: {
              id: { type: 'integer', minimum: 1, maximum: 255, description: 'myid; above every participant (e.g. 101+).' },
              host: bounded(253, 'The VM: hostname or IP, reached over SSH and by the ensemble.'),
              metricsAddress: bounded(64, 'IP for the monitoring Endpoints when host is a name.')
            }
          }
        }
      }
    },
    monitoring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        serviceName: { type: 'string', maxLength: 63, pattern: DNS_LABEL },
        namespace: { type: 'string', maxLength: 63, pattern: DNS_LABEL },
        labels: labelMap,
        serviceMonitor: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            labels: labelMap,
            interval: duration('Scrape interval, 1s to 1h.')
          }
        }
      }
    },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      properties: {
        podReady: duration('How long one pod may take to become Ready, 1s to 1h.'),
        loadBalancer: duration('How long the LoadBalancer addresses may take, 1s to 1h.'),
        observerJoin: duration('How long a restarted observer may take to answer Mode: observer, 1s to 1h.')
      }
    }
  }
} as const
