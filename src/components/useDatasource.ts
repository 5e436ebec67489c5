import { useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { DataSourceInstanceSettings } from '@grafana/data';
import { getDataSourceSrv } from '@grafana/runtime';

import { DATASOURCE_ID } from '../constants';
import { AutotracingResources } from '../datasource/resources';
import { useAppSettings } from './AppSettingsContext';

export interface DatasourceChoice {
  /** AutoTracing datasources of this Grafana */
  list: DataSourceInstanceSettings[];
  uid?: string;
  resources?: AutotracingResources;
  setUid: (uid: string) => void;
}

/** The datasource a page reads from: `?ds=` in the URL, else the app's setting, else the first one. */
export function useDatasource(): DatasourceChoice {
  const [params, setParams] = useSearchParams();
  const settings = useAppSettings();
  const list = useMemo(() => {
    try {
      return getDataSourceSrv().getList({ pluginId: DATASOURCE_ID });
    } catch {
      return [];
    }
  }, []);
  const fromUrl = params.get('ds') ?? undefined;
  const uid = fromUrl ?? (list.some((d) => d.uid === settings.datasourceUid) ? settings.datasourceUid : list[0]?.uid);
  const resources = useMemo(() => (uid ? new AutotracingResources(uid) : undefined), [uid]);
  return {
    list,
    uid,
    resources,
    setUid: (next: string) => {
      const p = new URLSearchParams(params);
      p.set('ds', next);
      setParams(p, { replace: true });
    },
  };
}
