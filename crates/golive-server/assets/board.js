// golive board.js
