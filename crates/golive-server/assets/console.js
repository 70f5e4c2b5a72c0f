// golive console.js
