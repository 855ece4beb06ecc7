// Folder cycles, checked on two views of the code (`npm run lint:imports`): src/ without the read
// models, and projections/ without src/. Slices and their read models depend on each other by
// design (events out, queries in); without them the folders of each side must form a hierarchy.
const { options } = require('./.dependency-cruiser.cjs');

module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'No folder reaches itself through the imports of its modules.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options,
};
