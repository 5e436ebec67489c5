import { CustomVariableSupport, type DataQueryRequest, type DataQueryResponse, toDataFrame } from '@grafana/data';
import { type Observable, from, map } from 'rxjs';

import type { AutotracingDataSource } from './datasource';
import { VariableQueryEditor } from './components/VariableQueryEditor';
import type { AutotracingVariableQuery } from './types';

/** Query variables: hosts, types or containers, through the backend's `values/:kind` resource. */
export class AutotracingVariableSupport extends CustomVariableSupport<AutotracingDataSource, AutotracingVariableQuery> {
  constructor(private readonly datasource: AutotracingDataSource) {
    super();
  }

  editor = VariableQueryEditor;

  query(request: DataQueryRequest<AutotracingVariableQuery>): Observable<DataQueryResponse> {
    const query = request.targets[0];
    return from(this.datasource.metricFindQuery(query, { range: request.range })).pipe(
      map((values) => ({
        data: [
          toDataFrame({
            fields: [
              { name: 'text', values: values.map((v) => v.text) },
              { name: 'value', values: values.map((v) => v.value ?? v.text) },
            ],
          }),
        ],
      }))
    );
  }
}
