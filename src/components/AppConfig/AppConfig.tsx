import React, { useMemo, useState } from 'react';
import { lastValueFrom } from 'rxjs';
import type { AppPluginMeta, PluginConfigPageProps, PluginMeta } from '@grafana/data';
import { getBackendSrv, getDataSourceSrv } from '@grafana/runtime';
import { Alert, Button, Combobox, Field, FieldSet, LinkButton, Stack, Text, TextLink } from '@grafana/ui';

import { APP_BASE_URL, type AppSettings, DATASOURCE_ID } from '../../constants';

export interface AppConfigProps extends PluginConfigPageProps<AppPluginMeta<AppSettings>> {}

/** The app's configuration: which AutoTracing datasource the pages read, with links to it. */
const AppConfig = ({ plugin }: AppConfigProps) => {
  const { enabled, pinned, jsonData } = plugin.meta;
  const datasources = useMemo(() => {
    try {
      return getDataSourceSrv().getList({ pluginId: DATASOURCE_ID });
    } catch {
      return [];
    }
  }, []);
  const [uid, setUid] = useState<string | undefined>(jsonData?.datasourceUid ?? datasources[0]?.uid);
  const [error, setError] = useState<string>();

  const save = async () => {
    setError(undefined);
    try {
      await updatePlugin(plugin.meta.id, { enabled: true, pinned: true, jsonData: { ...jsonData, datasourceUid: uid } });
      window.location.reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Saving the settings failed');
    }
  };

  return (
    <Stack direction="column" gap={2}>
      <FieldSet label="Datasource">
        <Text element="p">
          The app&apos;s pages read captures through an AutoTracing datasource, which lists the agents, their token and
          timeouts. Dashboards, alert rules and annotations use the same datasource.
        </Text>
        {datasources.length === 0 ? (
          <Alert severity="info" title="No AutoTracing datasource yet" data-testid="config-no-datasource">
            <LinkButton href={`/connections/datasources/${DATASOURCE_ID}`} icon="plus">
              Add an AutoTracing datasource
            </LinkButton>
          </Alert>
        ) : (
          <>
            <ul data-testid="config-datasources">
              {datasources.map((d) => (
                <li key={d.uid}>
                  <TextLink href={`/connections/datasources/edit/${d.uid}`} inline>
                    {d.name}
                  </TextLink>{' '}
                  <Text color="secondary">({d.uid})</Text>
                </li>
              ))}
            </ul>
            <Field label="Datasource for the app's pages" description="Pages also accept ?ds=<uid> in their URL.">
              <Combobox<string>
                width={40}
                options={datasources.map((d) => ({ label: d.name, value: d.uid }))}
                value={uid}
                onChange={(o) => setUid(o.value)}
              />
            </Field>
          </>
        )}
      </FieldSet>
      {error && <Alert title="Not saved">{error}</Alert>}
      <Stack direction="row" gap={1}>
        <Button onClick={save} disabled={datasources.length === 0}>
          {enabled ? 'Save' : 'Enable and save'}
        </Button>
        {enabled && (
          <LinkButton variant="secondary" href={APP_BASE_URL} icon="apps">
            Open AutoTracing
          </LinkButton>
        )}
        {pinned === false && enabled && <Text color="secondary">(not pinned in the navigation)</Text>}
      </Stack>
    </Stack>
  );
};

export default AppConfig;

const updatePlugin = async (pluginId: string, data: Partial<PluginMeta<AppSettings>>) => {
  const response = getBackendSrv().fetch({ url: `/api/plugins/${pluginId}/settings`, method: 'POST', data });
  return lastValueFrom(response);
};
