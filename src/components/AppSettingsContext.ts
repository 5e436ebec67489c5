import { createContext, useContext } from 'react';

import type { AppSettings } from '../constants';

export const AppSettingsContext = createContext<AppSettings>({});

export const useAppSettings = () => useContext(AppSettingsContext);
