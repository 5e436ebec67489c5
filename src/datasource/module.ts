import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { AutotracingDataSource } from './datasource';
import type { AutotracingOptions, AutotracingQuery, AutotracingSecureJsonData } from './types';

export const plugin = new DataSourcePlugin<
  AutotracingDataSource,
  AutotracingQuery,
  AutotracingOptions,
  AutotracingSecureJsonData
>(AutotracingDataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
