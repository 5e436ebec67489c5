import { type DependencyList, useCallback, useEffect, useState } from 'react';

export interface Loaded<T> {
  /** the latest result (kept while a reload runs) */
  value?: T;
  error?: string;
  /** a load for the current deps is running */
  loading: boolean;
  reload: () => void;
}

/** Runs an async loader whenever deps change (or reload is called); a loader returning undefined loads nothing. */
export function useLoad<T>(load: () => Promise<T> | undefined, deps: DependencyList): Loaded<T> {
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  // a new request identity per (deps, tick), kept in state (React's "information from previous renders"
  // pattern); results are tagged with the request they answer
  const [req, setReq] = useState(() => ({ deps, tick, id: {} }));
  let current = req;
  if (req.tick !== tick || req.deps.length !== deps.length || req.deps.some((d, i) => !Object.is(d, deps[i]))) {
    current = { deps, tick, id: {} };
    setReq(current);
  }
  const request = current.id;
  const [state, setState] = useState<{ request?: object; value?: T; error?: string }>({});

  useEffect(() => {
    let cancelled = false;
    Promise.resolve()
      .then(load)
      .then(
        (value) => !cancelled && setState({ request, value }),
        (e: unknown) => !cancelled && setState({ request, error: e instanceof Error ? e.message : String(e) })
      );
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [request]);

  return { value: state.value, error: state.error, loading: state.request !== request, reload };
}
