# One image for the API (`node dist/src/main.js`, the default) and the worker (`node dist/src/worker/main.js`).
FROM node:22-bookworm-slim AS build
WORKDIR /app
# libs/* are npm workspaces (@jobstream/<dir>): npm ci needs their package.json files and links them into node_modules
COPY package.json package-lock.json ./
COPY libs libs
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY scripts/copy-assets.mjs scripts/copy-assets.mjs
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# node_modules/@jobstream/* are links to libs/*: each package's package.json and built dist/
COPY --from=build /app/libs libs
COPY scripts/worker-ping.mjs scripts/worker-ping.mjs
USER node
EXPOSE 3000
CMD ["node", "dist/src/main.js"]
