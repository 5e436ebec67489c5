/**
 * Combobox option lists are virtualised (@tanstack/virtual measures clientWidth/clientHeight, floating-ui
 * measures bounding rects): give elements a size so options render in jsdom, as Grafana's own tests do.
 */
export function sizeElements(size = 240) {
  Object.defineProperty(Element.prototype, 'getBoundingClientRect', {
    configurable: true,
    value: () => ({ width: size, height: size, top: 0, left: 0, bottom: size, right: size, x: 0, y: 0, toJSON: () => ({}) }),
  });
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => size });
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => size });
}
