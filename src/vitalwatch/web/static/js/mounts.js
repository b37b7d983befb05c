// Places other parts of the station mount into, so they need no change here:
//   addTileAction((el, session) => ...)     a room tile's action area (once per tile)
//   addSessionSection((el, session) => ...) a section of the session page (once per page)
// e.g. typed vitals (js/manual-entry.js) or discharge readiness register here.

export const tileActions = [];
export const sessionSections = [];

export function addTileAction(render) { tileActions.push(render); }
export function addSessionSection(render) { sessionSections.push(render); }
