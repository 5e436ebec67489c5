import React from 'react';
import { Route, Routes } from 'react-router-dom';
import type { AppRootProps } from '@grafana/data';

import { type AppSettings, ROUTES } from '../../constants';
import { AppSettingsContext } from '../AppSettingsContext';

const Overview = React.lazy(() => import('../../pages/Overview'));
const Events = React.lazy(() => import('../../pages/Events'));
const EventDetail = React.lazy(() => import('../../pages/EventDetail'));
const Agents = React.lazy(() => import('../../pages/Agents'));

function App(props: AppRootProps<AppSettings>) {
  return (
    <AppSettingsContext.Provider value={props.meta.jsonData ?? {}}>
      <Routes>
        <Route path={ROUTES.Events} element={<Events />} />
        <Route path={`${ROUTES.Events}/:id`} element={<EventDetail />} />
        <Route path={ROUTES.Agents} element={<Agents />} />
        <Route path="*" element={<Overview />} />
      </Routes>
    </AppSettingsContext.Provider>
  );
}

export default App;
