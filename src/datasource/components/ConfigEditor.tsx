import React from 'react';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Button, Field, FieldSet, IconButton, Input, SecretInput, Stack, Text } from '@grafana/ui';

import {
  type AgentEndpoint,
  type AutotracingOptions,
  type AutotracingSecureJsonData,
  DEFAULT_CONCURRENCY,
  DEFAULT_TIMEOUT_MS,
} from '../types';

export type Props = DataSourcePluginOptionsEditorProps<AutotracingOptions, AutotracingSecureJsonData>;

function parsePositiveInt(s: string): number | undefined {
  const n = Number(s);
  return s.trim() !== '' && Number.isInteger(n) && n > 0 ? n : undefined;
}

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const jsonData = options.jsonData ?? {};
  const agents: AgentEndpoint[] = jsonData.agents ?? [];
  const tokenConfigured = Boolean(options.secureJsonFields?.token);

  const setJson = (patch: Partial<AutotracingOptions>) => {
    const next: AutotracingOptions = { ...jsonData, ...patch };
    for (const key of Object.keys(patch) as Array<keyof AutotracingOptions>) {
      if (next[key] === undefined || next[key] === '') {
        delete next[key];
      }
    }
    onOptionsChange({ ...options, jsonData: next });
  };

  const setAgent = (index: number, patch: Partial<AgentEndpoint>) =>
    setJson({ agents: agents.map((a, i) => (i === index ? { ...a, ...patch } : a)) });

  return (
    <Stack direction="column" gap={2}>
      <FieldSet label="Agents">
        <Text color="secondary" element="p">
          Each agent serves its host&apos;s captures on its HTTP API (default port 19704). Queries go to every agent
          at once; Save &amp; test checks each one and names those that fail.
        </Text>
        {agents.map((agent, i) => (
          <Stack key={i} direction="row" gap={1} alignItems="center">
            <Input
              width={20}
              aria-label={`Agent ${i + 1} name`}
              placeholder="name"
              value={agent.name}
              onChange={(e) => setAgent(i, { name: e.currentTarget.value })}
            />
            <Input
              width={40}
              aria-label={`Agent ${i + 1} URL`}
              placeholder="http://host:19704"
              value={agent.url}
              onChange={(e) => setAgent(i, { url: e.currentTarget.value })}
            />
            <IconButton
              name="trash-alt"
              tooltip={`Remove agent ${agent.name || i + 1}`}
              onClick={() => setJson({ agents: agents.filter((_, j) => j !== i) })}
            />
          </Stack>
        ))}
        <Button
          variant="secondary"
          icon="plus"
          size="sm"
          onClick={() => setJson({ agents: [...agents, { name: `agent-${agents.length + 1}`, url: '' }] })}
        >
          Add agent
        </Button>
      </FieldSet>

      <FieldSet label="Discovery">
        <Field
          label="DNS name"
          description="A name whose A/AAAA records are agents, e.g. a Kubernetes headless service (huatuo-agent.monitoring.svc.cluster.local). Agents found this way are asked alongside the list above, and re-resolved as it changes."
        >
          <Input
            width={60}
            aria-label="DNS discovery name"
            placeholder="huatuo-agent.monitoring.svc.cluster.local"
            value={jsonData.discovery ?? ''}
            onChange={(e) => setJson({ discovery: e.currentTarget.value.trim() || undefined })}
          />
        </Field>
      </FieldSet>

      <FieldSet label="Requests">
        <Field label="Timeout (ms)" description="Per agent and request. An agent that does not answer in time is named in a notice; the others' data is still shown.">
          <Input
            width={20}
            type="number"
            aria-label="Timeout in milliseconds"
            placeholder={String(DEFAULT_TIMEOUT_MS)}
            value={jsonData.timeoutMs ?? ''}
            onChange={(e) => setJson({ timeoutMs: parsePositiveInt(e.currentTarget.value) })}
          />
        </Field>
        <Field label="Concurrency" description="How many agents are asked at once.">
          <Input
            width={20}
            type="number"
            aria-label="Concurrency"
            placeholder={String(DEFAULT_CONCURRENCY)}
            value={jsonData.concurrency ?? ''}
            onChange={(e) => setJson({ concurrency: parsePositiveInt(e.currentTarget.value) })}
          />
        </Field>
      </FieldSet>

      <FieldSet label="Authentication">
        <Field label="Token" description="Bearer token of the agents' API (a read token is enough). Stored encrypted; never sent to the browser.">
          <SecretInput
            width={60}
            aria-label="Token"
            placeholder="read token"
            isConfigured={tokenConfigured}
            value={options.secureJsonData?.token ?? ''}
            onChange={(e) =>
              onOptionsChange({ ...options, secureJsonData: { ...options.secureJsonData, token: e.currentTarget.value } })
            }
            onReset={() =>
              onOptionsChange({
                ...options,
                secureJsonFields: { ...options.secureJsonFields, token: false },
                secureJsonData: { ...options.secureJsonData, token: '' },
              })
            }
          />
        </Field>
      </FieldSet>
    </Stack>
  );
}
