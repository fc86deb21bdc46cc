# One image for the API (`node dist/src/main.js`, the default) and the worker (`node dist/src/worker/main.js`).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY libs libs
COPY scripts/copy-assets.mjs scripts/copy-assets.mjs
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY scripts/worker-ping.mjs scripts/worker-ping.mjs
USER node
EXPOSE 3000
CMD ["node", "dist/src/main.js"]
