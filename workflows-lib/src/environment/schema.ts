// The JSON Schema of environment.yaml. This object is the single source: validation compiles
// it, and `npm run build` writes it to workflows-lib/schema/environment.schema.json for editors.
// Semantic rules that a schema cannot say (ids above participants, quorum-safe sizes, one chart
// source) live in validate.ts.

const dnsLabel = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
const duration = '^[0-9]+(ms|s|m|h)$'
const noControl = '^[^\\u0000-\\u001f\\u007f]*$'

const stringMap = {
  type: 'object',
  additionalProperties: { type: 'string', pattern: noControl },
  propertyNames: { pattern: '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' }
} as const

const port = { type: 'integer', minimum: 1, maximum: 65535 } as const

const sshEndpoint = {
  type: 'object',
  additionalProperties: false,
  required: ['host'],
  properties: {
    host: { type: 'string', description: 'Hostname or IP address.' },
    user: { type: 'string' },
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
        namespace: { type: 'string', pattern: dnsLabel, description: 'Namespace of the release.' },
        release: { type: 'string', pattern: dnsLabel, maxLength: 53, description: 'Helm release name.' },
        statefulSet: {
          type: 'string',
          pattern: dnsLabel,
          description: 'StatefulSet name, when a non-bundled chart names it differently from <release>-zookeeper.'
        },
        clusterDomain: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', default: 'cluster.local' }
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
            url: { type: 'string', pattern: '^https?://[^\\s]+$' },
            name: { type: 'string', pattern: '^[A-Za-z0-9][-A-Za-z0-9_.]*$' },
            version: { type: 'string', pattern: '^[A-Za-z0-9][-A-Za-z0-9_.+]*$' }
          }
        },
        oci: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'version'],
          properties: {
            url: { type: 'string', pattern: '^oci://[^\\s]+$' },
            version: { type: 'string', pattern: '^[A-Za-z0-9][-A-Za-z0-9_.+]*$' }
          }
        },
        path: { type: 'string', pattern: noControl, description: 'A chart directory, relative to the repository root.' },
        values: { type: 'string', pattern: noControl, description: 'Helm values file, relative to the environment directory.' }
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
          pattern: '^([a-z]|\\{release\\})([-a-z0-9]|\\{ordinal\\}|\\{release\\})*$',
          description: 'Name pattern of the per-pod LoadBalancer Services; must contain {ordinal}.'
        },
        cloud: {
          enum: ['none', 'tke', 'aws', 'gke', 'azure'],
          description: "Adds the provider's internal-LoadBalancer annotations."
        },
        subnet: { type: 'string', pattern: '^[A-Za-z0-9][-A-Za-z0-9_./]*$', description: 'Internal subnet (TKE: required; Azure: optional).' },
        addressKind: { enum: ['ip', 'hostname'], description: 'What the LoadBalancer reports: an IP, or a hostname (AWS).' },
        annotations: stringMap
      }
    },
    observers: {
      type: 'object',
      additionalProperties: false,
      required: ['hosts'],
      properties: {
        image: { type: 'string', description: 'Official zookeeper image, pinned: same version as the ensemble.' },
        metrics: { enum: ['native', 'exporter'] },
        metricsPort: port,
        clientPort: port,
        directory: { type: 'string', description: 'Absolute directory on the VM for zoo.cfg, myid and docker-compose.yaml.' },
        ssh: {
          type: 'object',
          additionalProperties: false,
          properties: {
            user: { type: 'string' },
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
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'host'],
            properties: {
              id: { type: 'integer', minimum: 1, maximum: 255, description: 'myid; above every participant (e.g. 101+).' },
              host: { type: 'string', description: 'The VM: hostname or IP, reached over SSH and by the ensemble.' },
              metricsAddress: { type: 'string', description: 'IP for the monitoring Endpoints when host is a name.' }
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
        serviceName: { type: 'string', pattern: dnsLabel },
        namespace: { type: 'string', pattern: dnsLabel },
        labels: stringMap,
        serviceMonitor: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            labels: stringMap,
            interval: { type: 'string', pattern: duration }
          }
        }
      }
    },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      properties: {
        podReady: { type: 'string', pattern: duration },
        loadBalancer: { type: 'string', pattern: duration },
        observerJoin: { type: 'string', pattern: duration }
      }
    }
  }
} as const
