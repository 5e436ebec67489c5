import React from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import type { AutotracingDataSource } from '../datasource';
import { VariableQueryEditor } from './VariableQueryEditor';

describe('VariableQueryEditor', () => {
  it('chooses hosts, types or containers', async () => {
    const onChange = jest.fn();
    render(
      <VariableQueryEditor
        query={{ refId: 'v', kind: 'hosts' }}
        onChange={onChange}
        onRunQuery={jest.fn()}
        datasource={{} as AutotracingDataSource}
      />
    );
    expect(screen.getByRole('radio', { name: 'Hosts' })).toBeChecked();
    await userEvent.click(screen.getByRole('radio', { name: 'Containers' }));
    expect(onChange).toHaveBeenCalledWith({ refId: 'v', kind: 'containers' });
  });
});
