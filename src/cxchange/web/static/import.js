// A column feeds one field: choosing it here frees it elsewhere (what the importer would do anyway).
document.querySelectorAll(".mapping select").forEach((sel) => {
  sel.addEventListener("change", () => {
    if (!sel.value) return;
    document.querySelectorAll(".mapping select").forEach((other) => {
      if (other !== sel && other.value === sel.value) {
        other.value = "";
        const status = document.getElementById("map-status");
        if (status) status.textContent = other.name.slice(4) + " is no longer mapped to " + sel.value + ".";
      }
    });
  });
});
