// Start every NHS.UK frontend component on the page (the header's "More" menu, error
// summaries, character counts...). Served from the site itself, as the CSP requires.
import { initAll } from './nhsuk/nhsuk-frontend.min.js'

initAll()
