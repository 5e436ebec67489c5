import React from 'react';
import { Alert, LinkButton, Text } from '@grafana/ui';

import { DATASOURCE_ID } from '../constants';
import type { AgentFailure } from '../datasource/resources';

/** The answer is partial: these agents failed, the others' data is shown. */
export function PartialNotice({ errors }: { errors: AgentFailure[] }) {
  if (errors.length === 0) {
    return null;
  }
  const unique = [...new Map(errors.map((e) => [e.agent, e])).values()];
  return (
    <Alert severity="warning" title={`Partial results: ${unique.length} agent(s) did not answer`} data-testid="partial-notice">
      {unique.map((e) => (
        <div key={e.agent}>
          <strong>{e.agent}</strong>: {e.reason}
        </div>
      ))}
    </Alert>
  );
}

export function NoDatasource() {
  return (
    <Alert severity="info" title="No AutoTracing datasource yet" data-testid="no-datasource">
      <Text element="p">The pages read the agents through an AutoTracing datasource. Add one and list your agents in it.</Text>
      <LinkButton href={`/connections/datasources/${DATASOURCE_ID}`} icon="plus" variant="primary">
        Add an AutoTracing datasource
      </LinkButton>
    </Alert>
  );
}
