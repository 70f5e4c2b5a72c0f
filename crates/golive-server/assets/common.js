// golive common.js
