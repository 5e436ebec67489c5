// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// The scaffold stubs canvas.getContext() with a function returning nothing; @grafana/ui's Combobox measures
// text on a canvas and @grafana/flamegraph draws on one. A 2D context whose methods do nothing (and whose
// measureText gives a width proportional to the text) lets both render in jsdom.
HTMLCanvasElement.prototype.getContext = function getContext() {
  const canvas = this;
  const state = {};
  return new Proxy(state, {
    get(target, prop) {
      if (prop === 'canvas') {
        return canvas;
      }
      if (prop === 'measureText') {
        return (text) => ({ width: String(text).length * 7, actualBoundingBoxAscent: 8, actualBoundingBoxDescent: 2 });
      }
      if (prop in target) {
        return target[prop];
      }
      return () => undefined;
    },
    set(target, prop, value) {
      target[prop] = value;
      return true;
    },
  });
};

if (typeof global.Path2D === 'undefined') {
  global.Path2D = class Path2D {
    rect() {}
    moveTo() {}
    lineTo() {}
    closePath() {}
  };
}

// jsdom has no object URLs; file exports create one
if (typeof URL.createObjectURL === 'undefined') {
  URL.createObjectURL = () => 'blob:jest';
  URL.revokeObjectURL = () => undefined;
}

// @grafana/ui's scroll containers and virtualised lists observe elements; jsdom has no observers
class NoopObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
if (typeof global.IntersectionObserver === 'undefined') {
  global.IntersectionObserver = NoopObserver;
}
if (typeof global.ResizeObserver === 'undefined') {
  global.ResizeObserver = NoopObserver;
}
