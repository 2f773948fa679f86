// SmolVLM's service worker: go-app v10's app-worker.js template
// (DefaultAppWorkerJS) with the changes an offline model app needs. go-app
// fills in {{.Version}} and {{.ResourcesToCache}} (Handler.CacheableResources
// lists the model worker's files: worker.js, worker.wasm, wasm_exec.js and
// onnxruntime-web).
//
//   - install and activate wait for their work (event.waitUntil): go-app's
//     handlers return at once, so a worker could activate, and delete the
//     previous version's cache, before the new one was filled.
//   - activate deletes old app-<version> caches only. go-app's deletes every
//     cache, so an app update also deleted the model files the model worker
//     keeps in "smolvlm-models-v1" (engine/ortweb) and they were downloaded
//     again.
//   - fetch answers from this version's cache only, and a navigation
//     ("/?device=wasm&…", settings live in the query) from the cached page
//     whatever its query; everything else goes to the network. Model files
//     are the model worker's business: it reads its own cache first.
//   - POST /share is the Web Share Target (manifest share_target): the
//     shared picture is kept in "smolvlm-share-v1" and the app opened at
//     /?shared=1, where the page takes it.
//
// The push notification handlers are go-app's, unchanged.

// -----------------------------------------------------------------------------
// PWA
// -----------------------------------------------------------------------------
const cacheName = "app-" + "{{.Version}}";
const resourcesToCache = {{.ResourcesToCache}};

// Keep in step with app/share.go.
const sharePath = "/share";
const shareCacheName = "smolvlm-share-v1";
const sharedPictureKey = "/share/picture";
const sharedOpenURL = "/?shared=1";

self.addEventListener("install", (event) => {
  console.log("installing app worker {{.Version}}");
  event.waitUntil(installWorker());
});

async function installWorker() {
  const cache = await caches.open(cacheName);
  // Revalidate with the server: the HTTP cache may hold the previous build.
  await cache.addAll(resourcesToCache.map((url) => new Request(url, { cache: "no-cache" })));
  await self.skipWaiting();
}

self.addEventListener("activate", (event) => {
  event.waitUntil(activateWorker());
});

async function activateWorker() {
  await deletePreviousCaches();
  await self.clients.claim(); // Ensure the service worker takes control of the clients
  console.log("app worker {{.Version}} is activated");
}

// deletePreviousCaches deletes the caches of earlier app versions, and no
// other: the model files and a shared picture survive an update.
async function deletePreviousCaches() {
  const keys = await caches.keys();
  await Promise.all(
    keys.map(async (key) => {
      if (key.startsWith("app-") && key !== cacheName) {
        try {
          console.log("deleting", key, "cache");
          await caches.delete(key);
        } catch (err) {
          console.error("deleting", key, "cache failed:", err);
        }
      }
    })
  );
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.method === "POST" && url.pathname === sharePath) {
    event.respondWith(receiveShare(request));
    return;
  }
  if (request.method !== "GET") {
    return;
  }
  event.respondWith(fetchWithCache(request));
});

async function fetchWithCache(request) {
  const cache = await caches.open(cacheName);
  const cachedResponse = await cache.match(request, {
    ignoreSearch: request.mode === "navigate",
  });
  if (cachedResponse) {
    return cachedResponse;
  }
  return await fetch(request);
}

// receiveShare keeps the first shared image and opens the app. A share
// without one (or a broken form) still opens the app.
async function receiveShare(request) {
  try {
    const form = await request.formData();
    const file = [...form.values()].find(
      (v) => v instanceof File && v.type.startsWith("image/")
    );
    if (file) {
      const cache = await caches.open(shareCacheName);
      await cache.put(
        sharedPictureKey,
        new Response(file, {
          headers: {
            "Content-Type": file.type,
            "X-File-Name": encodeURIComponent(file.name || "shared picture"),
          },
        })
      );
    }
  } catch (err) {
    console.error("receiving a shared picture failed:", err);
  }
  return Response.redirect(sharedOpenURL, 303);
}

// -----------------------------------------------------------------------------
// Push Notifications
// -----------------------------------------------------------------------------
self.addEventListener("push", (event) => {
  if (!event.data || !event.data.text()) {
    return;
  }

  const notification = JSON.parse(event.data.text());
  if (!notification) {
    return;
  }

  event.waitUntil(
    showNotification(self.registration, notification)
  );
});

self.addEventListener("message", (event) => {
  const msg = event.data;
  if (!msg || msg.type !== "goapp:notify") {
    return;
  }

  event.waitUntil(
    showNotification(self.registration, msg.options)
  );
});

async function showNotification(registration, notification) {
  const title = notification.title || "";

  let actions = [];
  for (let i in notification.actions) {
    const action = notification.actions[i];
    actions.push({
      action: action.action,
      path: action.path,
    });
    delete action.path;
  }

  notification.data = notification.data || {};
  notification.data.goapp = {
    path: notification.path,
    actions: actions,
  };
  delete notification.title;
  delete notification.path;

  await registration.showNotification(title, notification);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();

  const notification = event.notification;
  let path = notification.data.goapp.path;

  for (let i in notification.data.goapp.actions) {
    const action = notification.data.goapp.actions[i];
    if (action.action === event.action) {
      path = action.path;
      break;
    }
  }

  event.waitUntil(
    clients
      .matchAll({
        type: "window",
      })
      .then((clientList) => {
        for (var i = 0; i < clientList.length; i++) {
          let client = clientList[i];
          if ("focus" in client) {
            client.focus();
            client.postMessage({
              goapp: {
                type: "notification",
                path: path,
              },
            });
            return;
          }
        }

        if (clients.openWindow) {
          return clients.openWindow(path);
        }
      })
  );
});
