'use strict';
// plotly.js for feedback's dashboards: plotly.js/src/core.js (4.1.1) with only the trace types and
// components the dashboards use. Built by build.sh beside this file.
//   traces: scatter (lines, markers, interval bands) and bar;
//   components: shapes (the legend reads them), annotations (notes above a chart), error bars, colour
//   scales and bars (scatter's markers read them), the legend, hover (fx) and the toolbar (modebar).
// Left out: pie, calendars, images, selections, sliders, update menus, range sliders and selectors, grid.
exports.version = require('plotly.js/src/version').version;
require('plotly.js/build/plotcss');
var Registry = require('plotly.js/src/registry');
var register = (exports.register = Registry.register);
var plotApi = require('plotly.js/src/plot_api');
Object.keys(plotApi).forEach(function (name) {
    if (name.charAt(0) !== '_') exports[name] = plotApi[name];
    register({ moduleType: 'apiMethod', name: name, fn: plotApi[name] });
});
register(require('plotly.js/src/traces/scatter'));
register(require('plotly.js/src/traces/bar'));
register([
    require('plotly.js/src/components/shapes'),
    require('plotly.js/src/components/annotations'),
    require('plotly.js/src/components/errorbars'),
    require('plotly.js/src/components/colorscale'),
    require('plotly.js/src/components/colorbar'),
    require('plotly.js/src/components/legend'),
    require('plotly.js/src/components/fx'),
    require('plotly.js/src/components/modebar'),
]);
register([require('plotly.js/src/locale-en'), require('plotly.js/src/locale-en-us')]);
