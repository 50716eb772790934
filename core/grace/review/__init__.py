"""The review loop over a SQLite store: queues to review (:mod:`grace.review.queues`),
decisions (:mod:`grace.review.decisions`), the store (:mod:`grace.review.store`) and export to
a new YOLO dataset (:mod:`grace.review.export`). No Qt here: the GUI's review session is built
on :class:`grace.review.store.ReviewStore`."""
