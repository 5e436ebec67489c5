// Host readers: pure parsers of /proc and cgroup files plus thin readers taking a root prefix.
export * from './fsutil';
export * from './procStat';
export * from './meminfo';
export * from './pressure';
export * from './loadavg';
export * from './diskstats';
export * from './process';
export * from './cgroupLayout';
export * from './cgroupFiles';
