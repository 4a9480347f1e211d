// Swagger UI over the dashboard's OpenAPI schema. "Try it out" sends the page's CSRF token with each request, as
// a script signed in with the session cookie must (the csrftoken cookie's value in an x-csrftoken header).
const csrfToken = () => (document.cookie.split("; ").find((cookie) => cookie.startsWith("csrftoken=")) || "=").split("=")[1];

SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapi,
  dom_id: "#swagger-ui",
  requestInterceptor: (request) => {
    request.headers["x-csrftoken"] = csrfToken();
    return request;
  },
});
